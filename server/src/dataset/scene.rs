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
    fn new(rng: &mut Rng, relief: Relief, base_v: f32, low: f32, high: f32, haze: f32) -> Self {
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

fn pick_light(rng: &mut Rng, kind: Kind) -> Light {
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
mod palette {
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

/// Plans scene number `seed` (already mixed with the dataset seed).
pub fn plan(seed: u64) -> Scene {
    let mut rng = Rng::new(seed);
    let kind = [
        Kind::MountainLake,
        Kind::AlpineMeadow,
        Kind::Seaside,
        Kind::ForestHills,
        Kind::Desert,
    ][rng.pick(&[0.24, 0.2, 0.16, 0.26, 0.14])];
    let light = pick_light(&mut rng, kind);
    let horizon_v = match kind {
        Kind::Seaside => rng.range(0.38, 0.52),
        Kind::AlpineMeadow => rng.range(0.42, 0.58),
        _ => rng.range(0.45, 0.62),
    };
    let mut scene = Scene {
        kind,
        light,
        ranges: Vec::new(),
        ground: Ground {
            horizon_v,
            soil: if kind == Kind::Desert {
                Soil::Sand
            } else {
                Soil::Grass
            },
            lush: jitter(&mut rng, palette::GRASS, 0.12),
            dry: jitter(&mut rng, palette::DRY_GRASS, 0.1),
            dirt: jitter(&mut rng, palette::DIRT, 0.1),
            sand: jitter(
                &mut rng,
                if kind == Kind::Desert {
                    palette::DESERT_SAND
                } else {
                    palette::SAND
                },
                0.06,
            ),
            bare: if kind == Kind::Desert {
                rng.range(0.2, 0.45)
            } else {
                rng.range(0.45, 0.8)
            },
            path: None,
            patches: rng.noise(),
            texture: rng.noise(),
        },
        water: None,
        props: Vec::new(),
        clouds: rng.noise(),
        grain_seed: rng.next_u64(),
    };
    match kind {
        Kind::MountainLake => mountain_lake(&mut rng, &mut scene),
        Kind::AlpineMeadow => alpine_meadow(&mut rng, &mut scene),
        Kind::Seaside => seaside(&mut rng, &mut scene),
        Kind::ForestHills => forest_hills(&mut rng, &mut scene),
        Kind::Desert => desert(&mut rng, &mut scene),
    }
    scene.props.sort_by(|a, b| a.base_v.total_cmp(&b.base_v));
    scene
}

fn mountains(rng: &mut Rng, scene: &mut Scene, count: usize, snowy: bool, mesa: bool) {
    let h = scene.ground.horizon_v;
    for i in 0..count {
        let depth = (count - i) as f32 / (count + 1) as f32;
        let tall = if mesa { 0.6 } else { 1.0 };
        let high = h * rng.range(0.35, 0.75) * (0.6 + 0.5 * depth) * tall;
        let low = high * rng.range(0.15, 0.5);
        let snowline = (snowy && high > 0.15 && rng.chance(0.85)).then(|| rng.range(0.4, 0.75));
        let haze = 0.08 + 0.5 * depth * rng.range(0.7, 1.1);
        let mut range = Range::new(
            rng,
            Relief::Mountain { snowline, mesa },
            h + 0.005,
            low,
            high,
            haze,
        );
        range.albedo = if mesa {
            let base = palette::DESERT_ROCK[rng.int(0, 1)];
            jitter(rng, base, 0.08)
        } else {
            let base = palette::MOUNTAIN[rng.int(0, 2)];
            jitter(rng, base, 0.08)
        };
        scene.ranges.push(range);
    }
}

fn hills(rng: &mut Rng, scene: &mut Scene, count: usize, forest: f32, conifers: f32) {
    let h = scene.ground.horizon_v;
    for i in 0..count {
        let depth = (count - i) as f32 / (count + 1) as f32;
        let high = rng.range(0.08, 0.2) * (0.6 + 0.6 * depth);
        let low = high * rng.range(0.1, 0.5);
        let mut range = Range::new(rng, Relief::Hill, h + 0.005, low, high, 0.05 + 0.3 * depth);
        range.albedo = jitter(rng, palette::HILL, 0.12);
        if forest > 0.0 {
            let size = 0.02 + 0.03 * (1.0 - depth);
            hill_forest(rng, &mut range, forest, conifers, size);
        }
        scene.ranges.push(range);
    }
}

/// Woods on a hillside: trees wherever a patch noise says so.
fn hill_forest(rng: &mut Rng, range: &mut Range, amount: f32, conifers: f32, size: f32) {
    let patches = rng.noise();
    for _ in 0..(400.0 * amount) as usize {
        let u = rng.range(-0.03, 1.03);
        let ridge = range.ridge_v(u);
        let base_v = rng.range(ridge + size * 0.3, range.base_v);
        if base_v >= range.base_v || patches.fbm(u * 4.0, base_v * 6.0, 2) < 0.3 - amount {
            continue;
        }
        let kind = if rng.chance(conifers) {
            PropKind::Conifer
        } else {
            PropKind::Broadleaf
        };
        let height = size * rng.range(0.7, 1.3);
        let prop = tree(rng, kind, u, base_v, height, range.haze);
        range.trees.push(prop);
    }
    range.trees.sort_by(|a, b| a.base_v.total_cmp(&b.base_v));
}

fn tree(rng: &mut Rng, kind: PropKind, u: f32, base_v: f32, height_v: f32, haze: f32) -> Prop {
    let albedo = match kind {
        PropKind::Broadleaf => jitter(rng, palette::BROADLEAF, 0.2),
        PropKind::Conifer => jitter(rng, palette::CONIFER, 0.15),
        PropKind::Bush => jitter(rng, palette::BUSH, 0.15),
        PropKind::Boulder => jitter(rng, palette::BOULDER, 0.06),
    };
    Prop {
        kind,
        u,
        base_v,
        height_v,
        haze,
        albedo,
        seed: rng.next_u64(),
    }
}

/// A row of small trees along the far edge of the ground (a far shore, the
/// foot of the hills).
fn tree_line(rng: &mut Rng, scene: &mut Scene, at_v: f32, size: f32, conifers: f32) {
    let gaps = rng.noise();
    let density = rng.range(0.0, 0.5);
    let mut u = -0.03;
    while u < 1.03 {
        if gaps.line(u * 4.0, 2) + density > 0.0 {
            let kind = if rng.chance(conifers) {
                PropKind::Conifer
            } else {
                PropKind::Broadleaf
            };
            let base_v = at_v + rng.range(0.0, 0.006);
            let haze = scene.ground.haze(base_v);
            let height = size * rng.range(0.6, 1.4);
            let prop = tree(rng, kind, u, base_v, height, haze);
            scene.props.push(prop);
        }
        u += size * rng.range(0.1, 0.25);
    }
}

/// Props scattered in `clusters` (a count range) of up to `per` on the open
/// ground, not on water, path or beach. `size` (a range, drawn per scene) is the
/// height at the bottom row; things shrink with distance.
fn scatter(
    rng: &mut Rng,
    scene: &mut Scene,
    kind: PropKind,
    clusters: (usize, usize),
    per: usize,
    size: (f32, f32),
) {
    let size = rng.range(size.0, size.1);
    let g = scene.ground.clone();
    for _ in 0..rng.int(clusters.0, clusters.1) {
        let cu = rng.range(-0.05, 1.05);
        let ct = rng.range(0.05, 1.0_f32).powf(1.3);
        for _ in 0..rng.int(1, per) {
            let t = (ct + rng.range(-0.08, 0.08) * ct).clamp(0.03, 1.1);
            let u = cu + rng.range(-0.12, 0.12) * t;
            let base_v = g.horizon_v + t * (1.0 - g.horizon_v);
            let blocked = g.on_path(u, base_v)
                || scene.water.as_ref().is_some_and(|w| {
                    w.contains(u, base_v)
                        || (kind != PropKind::Boulder && w.on_beach(u, base_v, g.horizon_v))
                });
            if blocked {
                continue;
            }
            let haze = g.haze(base_v);
            let height = size * t * rng.range(0.7, 1.3);
            let prop = tree(rng, kind, u, base_v, height, haze);
            scene.props.push(prop);
        }
    }
}

fn lake(rng: &mut Rng, scene: &mut Scene, gap: f32, depth: f32) {
    let top_v = scene.ground.horizon_v + gap;
    // Seen from near the ground a lake is wide and shallow; a deep narrow one reads as a pit.
    let half = rng.range(0.45, 1.0);
    scene.water = Some(Water {
        top_v,
        shore: Shore::Lake {
            centre: rng.range(0.3, 0.7),
            half,
            depth: depth.min(0.95 - top_v).min(half * 0.4),
        },
        beach: if rng.chance(0.4) {
            rng.range(0.05, 0.2)
        } else {
            0.0
        },
        calm: rng.range(0.55, 0.95),
        tint: jitter(rng, palette::LAKE, 0.15),
        edge: rng.noise(),
        ripple: rng.noise(),
    });
}

fn path(rng: &mut Rng, scene: &mut Scene) {
    let end = match &scene.water {
        Some(w) => scene.ground.distance(w.shore_v(0.5) + 0.02).max(1.5),
        None => rng.range(4.0, 30.0),
    };
    scene.ground.path = Some(Path {
        start: rng.range(-0.5, 0.5),
        sway: rng.range(0.1, 0.5),
        freq: rng.range(0.3, 1.0),
        phase: rng.range(0.0, 6.3),
        width: rng.range(0.06, 0.14),
        end,
        wobble: rng.noise(),
    });
}

fn mountain_lake(rng: &mut Rng, scene: &mut Scene) {
    let n = rng.int(1, 3);
    mountains(rng, scene, n, true, false);
    if rng.chance(0.6) {
        let forest = rng.range(0.2, 0.7);
        hills(rng, scene, 1, forest, 0.7);
    }
    let gap = if rng.chance(0.5) {
        rng.range(0.0, 0.03)
    } else {
        0.0
    };
    let depth = rng.range(0.12, 0.32);
    lake(rng, scene, gap, depth);
    let h = scene.ground.horizon_v;
    if rng.chance(0.8) {
        let size = rng.range(0.03, 0.07);
        tree_line(rng, scene, h + gap * 0.5, size, 0.75);
    }
    if rng.chance(0.3) {
        path(rng, scene);
    }
    scatter(rng, scene, PropKind::Conifer, (0, 4), 4, (0.4, 0.8));
    scatter(rng, scene, PropKind::Bush, (1, 5), 4, (0.15, 0.15));
    scatter(rng, scene, PropKind::Boulder, (0, 3), 2, (0.12, 0.12));
}

fn alpine_meadow(rng: &mut Rng, scene: &mut Scene) {
    let n = rng.int(2, 3);
    mountains(rng, scene, n, true, false);
    if rng.chance(0.4) {
        let forest = rng.range(0.0, 0.6);
        hills(rng, scene, 1, forest, 0.9);
    }
    if rng.chance(0.25) {
        let (gap, depth) = (rng.range(0.0, 0.08), rng.range(0.06, 0.15));
        lake(rng, scene, gap, depth);
    }
    if rng.chance(0.7) {
        let h = scene.ground.horizon_v;
        let size = rng.range(0.02, 0.05);
        tree_line(rng, scene, h, size, 0.9);
    }
    if rng.chance(0.5) {
        path(rng, scene);
    }
    scatter(rng, scene, PropKind::Conifer, (1, 5), 5, (0.4, 0.8));
    scatter(rng, scene, PropKind::Bush, (2, 6), 4, (0.15, 0.15));
    scatter(rng, scene, PropKind::Boulder, (1, 5), 3, (0.14, 0.14));
}

fn seaside(rng: &mut Rng, scene: &mut Scene) {
    let h = scene.ground.horizon_v;
    if rng.chance(0.6) {
        let centre = if rng.chance(0.5) {
            rng.range(-0.1, 0.2)
        } else {
            rng.range(0.8, 1.1)
        };
        let half = rng.range(0.25, 0.55);
        if rng.chance(0.5) {
            mountains(rng, scene, 1, false, false);
        } else {
            let forest = rng.range(0.0, 0.5);
            hills(rng, scene, 1, forest, 0.3);
        }
        if let Some(r) = scene.ranges.last_mut() {
            r.span = Some((centre, half));
            r.haze *= 0.7;
            // Keep only the trees still standing on the shortened range.
            let trees = std::mem::take(&mut r.trees);
            r.trees = trees
                .into_iter()
                .filter(|t| t.base_v > r.ridge_v(t.u) + t.height_v * 0.3)
                .collect();
        }
    }
    let depth = rng.range(0.1, 0.3).min(0.85 - h);
    scene.water = Some(Water {
        top_v: h,
        shore: Shore::Sea { depth },
        beach: rng.range(0.15, 0.6),
        calm: rng.range(0.15, 0.5),
        tint: jitter(rng, palette::SEA, 0.15),
        edge: rng.noise(),
        ripple: rng.noise(),
    });
    if rng.chance(0.5) {
        scene.ground.soil = Soil::Sand;
        scene.ground.bare = 2.0;
    }
    scatter(rng, scene, PropKind::Bush, (1, 6), 5, (0.15, 0.15));
    scatter(rng, scene, PropKind::Boulder, (0, 3), 3, (0.15, 0.15));
    if rng.chance(0.4) {
        scatter(rng, scene, PropKind::Broadleaf, (1, 2), 3, (0.4, 0.6));
    }
}

fn forest_hills(rng: &mut Rng, scene: &mut Scene) {
    if rng.chance(0.6) {
        let snowy = rng.chance(0.3);
        mountains(rng, scene, 1, snowy, false);
    }
    let conifers = rng.range(0.0, 0.6);
    let n = rng.int(1, 3);
    let forest = rng.range(0.1, 0.7);
    hills(rng, scene, n, forest, conifers);
    let h = scene.ground.horizon_v;
    if rng.chance(0.3) {
        let (gap, depth) = (rng.range(0.0, 0.04), rng.range(0.08, 0.2));
        lake(rng, scene, gap, depth);
    }
    if rng.chance(0.7) {
        let size = rng.range(0.03, 0.07);
        tree_line(rng, scene, h, size, conifers);
    }
    if rng.chance(0.5) {
        path(rng, scene);
    }
    scatter(rng, scene, PropKind::Broadleaf, (2, 7), 5, (0.35, 0.65));
    if rng.chance(conifers) {
        scatter(rng, scene, PropKind::Conifer, (1, 3), 4, (0.8, 0.8));
    }
    scatter(rng, scene, PropKind::Bush, (2, 8), 4, (0.15, 0.15));
    scatter(rng, scene, PropKind::Boulder, (0, 2), 2, (0.1, 0.1));
}

fn desert(rng: &mut Rng, scene: &mut Scene) {
    let (n, mesa) = (rng.int(1, 2), rng.chance(0.6));
    mountains(rng, scene, n, false, mesa);
    let h = scene.ground.horizon_v;
    for i in 0..rng.int(0, 2) {
        let high = rng.range(0.04, 0.1);
        let mut dune = Range::new(
            rng,
            Relief::Dune,
            h + 0.005,
            high * 0.3,
            high,
            0.25 - 0.1 * i as f32,
        );
        dune.albedo = jitter(rng, palette::DESERT_SAND, 0.05);
        scene.ranges.push(dune);
    }
    if rng.chance(0.25) {
        path(rng, scene);
    }
    let dry = jitter(rng, palette::DRY_BUSH, 0.1);
    let start = scene.props.len();
    scatter(rng, scene, PropKind::Bush, (1, 6), 3, (0.12, 0.12));
    for p in &mut scene.props[start..] {
        p.albedo = dry;
    }
    scatter(rng, scene, PropKind::Boulder, (2, 6), 4, (0.16, 0.16));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ridges_stay_above_their_base() {
        for seed in 0..20 {
            let scene = plan(seed);
            for r in &scene.ranges {
                for i in 0..=50 {
                    let v = r.ridge_v(i as f32 / 50.0);
                    assert!(v <= r.base_v + 1e-6 && v > -0.5, "seed {seed}: {v}");
                }
            }
        }
    }

    #[test]
    fn paths_narrow_into_the_distance() {
        let mut rng = Rng::new(1);
        let mut scene = plan(1);
        path(&mut rng, &mut scene);
        let g = &scene.ground;
        let width = |v: f32| (0..400).filter(|&i| g.on_path(i as f32 / 400.0, v)).count();
        let near = width(0.98);
        assert!(near > 0);
        assert!(width(g.horizon_v + 0.05) <= near);
    }
}
