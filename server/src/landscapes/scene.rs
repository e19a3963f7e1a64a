//! Scene plans: every random decision about one landscape (composition,
//! light, ridgelines, water, props), made from its seed before any pixel is
//! painted. Positions are in frame units: `u` across, `v` down, both 0..1.

use super::color::{jitter, rgb8, smoothstep, Rgb};
use super::noise::{Noise, Rng};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    MountainLake,
    AlpineMeadow,
    Seaside,
    ForestHills,
    Desert,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeOfDay {
    Noon,
    Golden,
    Overcast,
    Dawn,
}

impl Kind {
    /// The name `scenes.tsv` records.
    pub fn name(self) -> &'static str {
        match self {
            Kind::MountainLake => "mountain-lake",
            Kind::AlpineMeadow => "alpine-meadow",
            Kind::Seaside => "seaside",
            Kind::ForestHills => "forest-hills",
            Kind::Desert => "desert",
        }
    }
}

impl TimeOfDay {
    /// The name `scenes.tsv` records (and style presets are named after).
    pub fn name(self) -> &'static str {
        match self {
            TimeOfDay::Noon => "noon",
            TimeOfDay::Golden => "golden-hour",
            TimeOfDay::Overcast => "overcast",
            TimeOfDay::Dawn => "dawn",
        }
    }
}

/// The light of a scene: sky colours, the sun, and the final grade.
#[derive(Debug, Clone)]
pub struct Light {
    pub time: TimeOfDay,
    pub sky_top: Rgb,
    pub sky_horizon: Rgb,
    /// Direct light colour times strength.
    pub sun: Rgb,
    /// Sky light in shadows.
    pub ambient: Rgb,
    /// +1 when the sun is on the left, -1 on the right.
    pub side: f32,
    /// Sun position in frame units (may lie outside the frame).
    pub sun_at: (f32, f32),
    pub glow: f32,
    pub sun_disc: f32,
    /// Colour distant things fade to.
    pub haze: Rgb,
    pub cloud_cover: f32,
    pub cloud_lit: Rgb,
    pub cloud_shade: Rgb,
    pub exposure: f32,
    pub contrast: f32,
    pub saturation: f32,
    pub grain: f32,
}

#[derive(Debug, Clone, Copy)]
pub enum Relief {
    Mountain { snowline: Option<f32>, mesa: bool },
    Hill,
    Dune,
}

/// One ridge of terrain seen from the side: mountains, hills or dunes.
#[derive(Debug, Clone)]
pub struct Range {
    pub relief: Relief,
    /// Where the range meets the ground.
    pub base_v: f32,
    /// Lowest and highest ridge heights above the base.
    pub low: f32,
    pub high: f32,
    /// 0 near, 1 lost in the haze.
    pub haze: f32,
    pub albedo: Rgb,
    pub shape: Noise,
    pub texture: Noise,
    pub freq: f32,
    /// Centre and half-width of a range that covers only part of the frame.
    pub span: Option<(f32, f32)>,
    /// Trees standing on the range, far to near.
    pub trees: Vec<Prop>,
    raw_lo: f32,
    raw_hi: f32,
}

impl Range {
    pub(super) fn new(
        rng: &mut Rng,
        relief: Relief,
        base_v: f32,
        low: f32,
        high: f32,
        haze: f32,
    ) -> Self {
        let freq = match relief {
            Relief::Mountain { mesa: true, .. } => rng.range(1.5, 2.5),
            Relief::Mountain { .. } => rng.range(1.2, 2.4),
            Relief::Hill => rng.range(1.0, 2.0),
            Relief::Dune => rng.range(1.2, 2.2),
        };
        let mut range = Self {
            relief,
            base_v,
            low,
            high,
            haze,
            albedo: [0.5; 3],
            shape: rng.noise(),
            texture: rng.noise(),
            freq,
            span: None,
            trees: Vec::new(),
            raw_lo: 0.0,
            raw_hi: 1.0,
        };
        let samples: Vec<f32> = (0..=128).map(|i| range.raw(i as f32 / 128.0)).collect();
        range.raw_lo = samples.iter().cloned().fold(f32::MAX, f32::min);
        range.raw_hi = samples.iter().cloned().fold(f32::MIN, f32::max) + 1e-4;
        range
    }

    fn raw(&self, u: f32) -> f32 {
        let x = u * self.freq;
        match self.relief {
            Relief::Mountain { mesa: false, .. } => {
                let big = 0.5 + 0.5 * self.shape.line(x + 3.1, 2);
                big.max(0.0).powf(1.2) + 0.3 * self.shape.fbm(x * 2.5 + 9.0, 5.3, 7)
            }
            Relief::Mountain { mesa: true, .. } => {
                let big = 0.5 + 0.5 * self.shape.line(x + 3.1, 2);
                // Buttes: flat tops, steep but not vertical walls, eroded edges.
                let step = smoothstep(0.42, 0.62, big + 0.06 * self.shape.line(x * 7.0, 3));
                step * 0.75 + 0.2 * big + 0.04 * self.shape.fbm(x * 12.0, 2.2, 4)
            }
            Relief::Hill => self.shape.line(x, 3),
            Relief::Dune => 1.0 - self.shape.line(x, 2).abs() + 0.1 * self.shape.line(x * 3.0, 2),
        }
    }

    /// The ridgeline: where the range meets the sky (or the range behind) at `u`.
    pub fn ridge_v(&self, u: f32) -> f32 {
        let n = (self.raw(u) - self.raw_lo) / (self.raw_hi - self.raw_lo);
        let mut height = self.low + (self.high - self.low) * n;
        if let Some((centre, half)) = self.span {
            let d = ((u - centre).abs() / half).min(1.0);
            height *= (1.0 - d * d).sqrt();
        }
        self.base_v - height
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropKind {
    Broadleaf,
    Conifer,
    Bush,
    Boulder,
}

/// A tree, bush or boulder standing on the ground at (`u`, `base_v`).
#[derive(Debug, Clone)]
pub struct Prop {
    pub kind: PropKind,
    pub u: f32,
    pub base_v: f32,
    pub height_v: f32,
    pub haze: f32,
    pub albedo: Rgb,
    pub seed: u64,
}

#[derive(Debug, Clone, Copy)]
pub enum Shore {
    /// A lake between `centre ± half` across, reaching `depth` towards the viewer.
    Lake { centre: f32, half: f32, depth: f32 },
    /// Sea across the whole frame, its beach at about `depth` below the top.
    Sea { depth: f32 },
}

#[derive(Debug, Clone)]
pub struct Water {
    /// The far shoreline, horizontal; reflections mirror the scene about it.
    pub top_v: f32,
    pub shore: Shore,
    /// Beach depth as a fraction of the distance from horizon to shore.
    pub beach: f32,
    /// 1 is a mirror, 0 choppy.
    pub calm: f32,
    pub tint: Rgb,
    pub edge: Noise,
    pub ripple: Noise,
}

impl Water {
    /// The near shoreline at `u`; at or above `top_v` there is no water.
    pub fn shore_v(&self, u: f32) -> f32 {
        match self.shore {
            Shore::Lake {
                centre,
                half,
                depth,
            } => {
                let d = (u - centre) / half;
                let env = 1.0 - d * d;
                if env <= 0.0 {
                    return self.top_v;
                }
                let wobble = 1.0 + 0.3 * self.edge.line(u * 5.0, 3);
                self.top_v + depth * env.sqrt() * wobble.max(0.0)
            }
            Shore::Sea { depth } => {
                self.top_v + depth * (1.0 + 0.25 * self.edge.line(u * 2.5, 3)).max(0.2)
            }
        }
    }

    pub fn contains(&self, u: f32, v: f32) -> bool {
        v >= self.top_v && v < self.shore_v(u)
    }

    pub fn on_beach(&self, u: f32, v: f32, horizon_v: f32) -> bool {
        let shore = self.shore_v(u);
        shore > self.top_v + 0.002 && v >= shore && v < shore + self.beach * (shore - horizon_v)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Soil {
    Grass,
    Sand,
}

/// A dirt path from the bottom of the frame towards the horizon, laid out on
/// the ground plane so that perspective narrows it.
#[derive(Debug, Clone)]
pub struct Path {
    pub start: f32,
    pub sway: f32,
    pub freq: f32,
    pub phase: f32,
    pub width: f32,
    /// Ground distance where the path ends (1 is the bottom row).
    pub end: f32,
    pub wobble: Noise,
}

#[derive(Debug, Clone)]
pub struct Ground {
    pub horizon_v: f32,
    pub soil: Soil,
    pub lush: Rgb,
    pub dry: Rgb,
    pub dirt: Rgb,
    pub sand: Rgb,
    /// Noise level above which the soil is bare dirt (1 or more: never).
    pub bare: f32,
    pub path: Option<Path>,
    pub patches: Noise,
    pub texture: Noise,
}

impl Ground {
    /// Distance on the ground plane: 1 at the bottom row, growing to the horizon.
    pub fn distance(&self, v: f32) -> f32 {
        let t = (v - self.horizon_v) / (1.0 - self.horizon_v);
        1.0 / t.max(1e-3)
    }

    /// Sideways position on the ground plane.
    pub fn across(&self, u: f32, distance: f32) -> f32 {
        (u - 0.5) * 2.0 * distance
    }

    pub fn on_path(&self, u: f32, v: f32) -> bool {
        let Some(p) = &self.path else {
            return false;
        };
        if v <= self.horizon_v {
            return false;
        }
        let z = self.distance(v);
        if z > p.end {
            return false;
        }
        let centre = p.start + p.sway * ((z - 1.0) * p.freq + p.phase).sin();
        let taper = 1.0 - ((z - 1.0) / (p.end - 1.0)).powi(2) * 0.6;
        let width = p.width * taper * (1.0 + 0.3 * p.wobble.line(z * 2.0, 2));
        (self.across(u, z) - centre).abs() < width
    }

    /// How deep into the haze ground at `v` lies.
    pub fn haze(&self, v: f32) -> f32 {
        let t = ((v - self.horizon_v) / (1.0 - self.horizon_v)).clamp(0.0, 1.0);
        0.55 * (1.0 - t).powi(6)
    }
}

/// Everything needed to paint one landscape.
#[derive(Debug, Clone)]
pub struct Scene {
    pub kind: Kind,
    pub light: Light,
    /// Far to near.
    pub ranges: Vec<Range>,
    pub ground: Ground,
    pub water: Option<Water>,
    /// Props on the ground, far to near.
    pub props: Vec<Prop>,
    pub clouds: Noise,
    pub grain_seed: u64,
}

pub(super) fn pick_light(rng: &mut Rng, kind: Kind) -> Light {
    let weights = match kind {
        Kind::Desert => [0.45, 0.35, 0.05, 0.15],
        Kind::Seaside => [0.4, 0.25, 0.15, 0.2],
        _ => [0.4, 0.22, 0.22, 0.16],
    };
    let time = [
        TimeOfDay::Noon,
        TimeOfDay::Golden,
        TimeOfDay::Overcast,
        TimeOfDay::Dawn,
    ][rng.pick(&weights)];
    let side = if rng.chance(0.5) { 1.0 } else { -1.0 };
    let sun_u = 0.5 - side * rng.range(0.1, 0.45);
    match time {
        TimeOfDay::Noon => Light {
            time,
            sky_top: jitter(rng, rgb8(40, 100, 200), 0.08),
            sky_horizon: jitter(rng, rgb8(170, 205, 235), 0.05),
            sun: [0.78, 0.76, 0.7],
            ambient: [0.42, 0.47, 0.56],
            side,
            sun_at: (sun_u, rng.range(-0.3, 0.1)),
            glow: rng.range(0.05, 0.2),
            sun_disc: 0.0,
            haze: rgb8(185, 205, 225),
            cloud_cover: rng.range(-0.45, -0.05),
            cloud_lit: [1.0, 1.0, 1.0],
            cloud_shade: [0.66, 0.7, 0.78],
            exposure: rng.range(0.98, 1.1),
            contrast: rng.range(1.0, 1.15),
            saturation: rng.range(1.0, 1.2),
            grain: rng.range(0.008, 0.02),
        },
        TimeOfDay::Golden => Light {
            time,
            sky_top: jitter(rng, rgb8(70, 105, 170), 0.08),
            sky_horizon: jitter(rng, rgb8(250, 190, 120), 0.06),
            sun: [0.95, 0.68, 0.4],
            ambient: [0.36, 0.36, 0.48],
            side,
            sun_at: (sun_u, rng.range(0.2, 0.42)),
            glow: rng.range(0.3, 0.6),
            sun_disc: if rng.chance(0.5) { 0.018 } else { 0.0 },
            haze: rgb8(225, 180, 140),
            cloud_cover: rng.range(-0.4, 0.0),
            cloud_lit: [1.0, 0.8, 0.6],
            cloud_shade: [0.55, 0.45, 0.5],
            exposure: rng.range(0.95, 1.05),
            contrast: rng.range(1.05, 1.2),
            saturation: rng.range(1.05, 1.25),
            grain: rng.range(0.01, 0.022),
        },
        TimeOfDay::Overcast => Light {
            time,
            sky_top: jitter(rng, rgb8(130, 138, 150), 0.06),
            sky_horizon: jitter(rng, rgb8(195, 198, 202), 0.04),
            sun: [0.3, 0.3, 0.3],
            ambient: [0.68, 0.7, 0.74],
            side,
            sun_at: (sun_u, rng.range(-0.2, 0.2)),
            glow: 0.0,
            sun_disc: 0.0,
            haze: rgb8(190, 194, 200),
            cloud_cover: rng.range(-0.05, 0.2),
            cloud_lit: [0.88, 0.88, 0.9],
            cloud_shade: [0.5, 0.52, 0.56],
            exposure: rng.range(0.92, 1.02),
            contrast: rng.range(0.9, 1.0),
            saturation: rng.range(0.75, 0.9),
            grain: rng.range(0.012, 0.025),
        },
        TimeOfDay::Dawn => Light {
            time,
            sky_top: jitter(rng, rgb8(85, 95, 160), 0.08),
            sky_horizon: jitter(rng, rgb8(245, 175, 175), 0.06),
            sun: [0.85, 0.62, 0.6],
            ambient: [0.4, 0.4, 0.52],
            side,
            sun_at: (sun_u, rng.range(0.25, 0.45)),
            glow: rng.range(0.25, 0.5),
            sun_disc: if rng.chance(0.4) { 0.015 } else { 0.0 },
            haze: rgb8(215, 180, 195),
            cloud_cover: rng.range(-0.4, -0.05),
            cloud_lit: [1.0, 0.78, 0.8],
            cloud_shade: [0.5, 0.45, 0.58],
            exposure: rng.range(0.92, 1.02),
            contrast: rng.range(1.0, 1.12),
            saturation: rng.range(1.0, 1.2),
            grain: rng.range(0.01, 0.022),
        },
    }
}

/// Albedos, varied a little per scene.
pub(super) mod palette {
    use super::super::color::{rgb8, Rgb};
    pub const MOUNTAIN: [Rgb; 3] = [rgb8(120, 110, 100), rgb8(100, 105, 115), rgb8(125, 105, 90)];
    pub const DESERT_ROCK: [Rgb; 2] = [rgb8(175, 105, 70), rgb8(160, 120, 90)];
    pub const HILL: Rgb = rgb8(80, 120, 45);
    pub const GRASS: Rgb = rgb8(75, 125, 40);
    pub const DRY_GRASS: Rgb = rgb8(150, 145, 70);
    pub const BROADLEAF: Rgb = rgb8(45, 85, 30);
    pub const CONIFER: Rgb = rgb8(30, 65, 40);
    pub const BUSH: Rgb = rgb8(90, 130, 50);
    pub const DRY_BUSH: Rgb = rgb8(120, 120, 60);
    pub const BOULDER: Rgb = rgb8(130, 128, 122);
    pub const SAND: Rgb = rgb8(220, 200, 150);
    pub const DESERT_SAND: Rgb = rgb8(215, 165, 110);
    pub const DIRT: Rgb = rgb8(135, 100, 70);
    pub const LAKE: Rgb = rgb8(30, 60, 80);
    pub const SEA: Rgb = rgb8(20, 70, 110);
}
