//! Map-first rendering (issue 27): a photo for any given label map, so that
//! maps the composer never draws (painted blobs, strokes, full frames,
//! simplified maps) become training pairs. The map is the truth: every pixel
//! keeps its class, and the picture is made to show it. Per-class materials
//! are lit by the scene's light (the composer's lights); height in the frame
//! and distance below a region's top edge stand in for depth; mountains and
//! hills take their ridgelines from the regions' outlines; canopies are
//! domes packed into their region; water mirrors what stands above it.

use super::color::{add, jitter, mix, rgb8, scale, smoothstep, Rgb};
use super::noise::{hash2, mix64, Noise, Rng};
use super::paint::{grade_pixels, hazed, lit};
use super::scene::{palette, pick_light, Kind, Light, TimeOfDay};
use super::{
    BUSH, CLASS_COUNT, CLOUDS, DIRT, GRASS, HILL, MOUNTAIN, ROCK, SAND, SKY, SNOW, TREE, WATER,
};

/// A photo rendered for a map, and the light it was rendered in.
#[derive(Debug, Clone, PartialEq)]
pub struct MapPhoto {
    pub time: TimeOfDay,
    /// RGB, row-major, 8 bits a channel.
    pub rgb: Vec<u8>,
}

/// The map as the renderer sees it: classes and, for every pixel, how far
/// its region reaches up, down, left and right in its row and column.
struct Layout<'a> {
    label: &'a [u8],
    w: usize,
    h: usize,
    up: Vec<u16>,
    down: Vec<u16>,
    side: Vec<u16>,
    /// Each pixel's connected region (4-neighbours, one class).
    region: Vec<u32>,
    regions: Vec<Region>,
    /// Where the sky meets the land, in frame heights (below 0: the camera
    /// looks down and no sky shows).
    horizon_v: f32,
}

#[derive(Debug, Clone)]
struct Region {
    class: u8,
    pixels: usize,
    x0: usize,
    y0: usize,
    x1: usize,
    y1: usize,
}

impl<'a> Layout<'a> {
    fn new(label: &'a [u8], w: usize, h: usize) -> Self {
        let at = |x: usize, y: usize| label[y * w + x];
        let mut up = vec![0u16; w * h];
        let mut down = vec![0u16; w * h];
        let mut side = vec![0u16; w * h];
        for x in 0..w {
            for y in 1..h {
                if at(x, y) == at(x, y - 1) {
                    up[y * w + x] = up[(y - 1) * w + x].saturating_add(1);
                }
            }
            for y in (0..h.saturating_sub(1)).rev() {
                if at(x, y) == at(x, y + 1) {
                    down[y * w + x] = down[(y + 1) * w + x].saturating_add(1);
                }
            }
        }
        for y in 0..h {
            let mut left = vec![0u16; w];
            for x in 1..w {
                if at(x, y) == at(x - 1, y) {
                    left[x] = left[x - 1].saturating_add(1);
                }
            }
            let mut right = 0u16;
            for x in (0..w).rev() {
                right = if x + 1 < w && at(x, y) == at(x + 1, y) {
                    right.saturating_add(1)
                } else {
                    0
                };
                side[y * w + x] = left[x].min(right);
            }
        }
        let (region, regions) = regions(label, w, h);
        // The horizon: where the columns that start with sky stop being sky.
        let mut ends = Vec::new();
        for x in 0..w {
            if matches!(at(x, 0), SKY | CLOUDS) {
                let end = (0..h)
                    .find(|&y| !matches!(at(x, y), SKY | CLOUDS))
                    .unwrap_or(h);
                ends.push(end as f32 / h as f32);
            }
        }
        let horizon_v = if ends.len() * 5 < w {
            -0.3
        } else {
            ends.iter().sum::<f32>() / ends.len() as f32
        };
        Self {
            label,
            w,
            h,
            up,
            down,
            side,
            region,
            regions,
            horizon_v: horizon_v.min(0.95),
        }
    }

    fn v(&self, y: usize) -> f32 {
        (y as f32 + 0.5) / self.h as f32
    }

    fn u(&self, x: usize) -> f32 {
        (x as f32 + 0.5) / self.w as f32
    }

    /// Distance inside the region, in pixels (up to the nearest edge in the
    /// row or column).
    fn inside(&self, i: usize) -> f32 {
        self.up[i].min(self.down[i]).min(self.side[i]) as f32
    }

    /// Ground-plane nearness at row `y`: 1 at the bottom row, towards 0 at
    /// the horizon.
    fn nearness(&self, y: usize) -> f32 {
        let hv = self.horizon_v.max(-0.3);
        ((self.v(y) - hv) / (1.0 - hv)).clamp(0.02, 1.0)
    }
}

/// Connected regions of one class (4-neighbours), numbered in scan order.
fn regions(label: &[u8], w: usize, h: usize) -> (Vec<u32>, Vec<Region>) {
    let mut id = vec![u32::MAX; w * h];
    let mut regions = Vec::new();
    let mut stack = Vec::new();
    for start in 0..w * h {
        if id[start] != u32::MAX {
            continue;
        }
        let class = label[start];
        let n = regions.len() as u32;
        let mut r = Region {
            class,
            pixels: 0,
            x0: w,
            y0: h,
            x1: 0,
            y1: 0,
        };
        id[start] = n;
        stack.push(start);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            r.pixels += 1;
            r.x0 = r.x0.min(x);
            r.x1 = r.x1.max(x);
            r.y0 = r.y0.min(y);
            r.y1 = r.y1.max(y);
            let mut visit = |j: usize| {
                if id[j] == u32::MAX && label[j] == class {
                    id[j] = n;
                    stack.push(j);
                }
            };
            if x > 0 {
                visit(i - 1);
            }
            if x + 1 < w {
                visit(i + 1);
            }
            if y > 0 {
                visit(i - w);
            }
            if y + 1 < h {
                visit(i + w);
            }
        }
        regions.push(r);
    }
    (id, regions)
}

/// The scene-wide choices: light, materials and noise fields.
struct Look {
    light: Light,
    albedo: [Rgb; CLASS_COUNT],
    noise: [Noise; 4],
    /// 0 for a mirror-calm lake, towards 1 for a choppy sea.
    chop: f32,
    grain_seed: u64,
}

impl Look {
    fn new(rng: &mut Rng) -> Self {
        let kind = [Kind::MountainLake, Kind::Seaside, Kind::ForestHills][rng.int(0, 2)];
        let light = pick_light(rng, kind);
        let mut albedo = [[0.0; 3]; CLASS_COUNT];
        let rock = palette::MOUNTAIN[rng.int(0, 2)];
        albedo[MOUNTAIN as usize] = jitter(rng, rock, 0.1);
        albedo[SNOW as usize] = [0.93, 0.95, 1.0];
        albedo[ROCK as usize] = jitter(rng, palette::BOULDER, 0.1);
        albedo[HILL as usize] = jitter(rng, palette::HILL, 0.12);
        albedo[GRASS as usize] = mix(
            jitter(rng, palette::GRASS, 0.12),
            palette::DRY_GRASS,
            rng.range(0.0, 0.35),
        );
        let leaves = if rng.chance(0.3) {
            palette::CONIFER
        } else {
            palette::BROADLEAF
        };
        albedo[TREE as usize] = jitter(rng, leaves, 0.12);
        albedo[BUSH as usize] = jitter(rng, palette::BUSH, 0.12);
        let water = if rng.chance(0.5) {
            palette::LAKE
        } else {
            palette::SEA
        };
        albedo[WATER as usize] = jitter(rng, water, 0.1);
        albedo[SAND as usize] = jitter(rng, palette::SAND, 0.06);
        albedo[DIRT as usize] = jitter(rng, palette::DIRT, 0.1);
        Self {
            light,
            albedo,
            noise: [rng.noise(), rng.noise(), rng.noise(), rng.noise()],
            chop: rng.range(0.2, 0.75),
            grain_seed: rng.next_u64(),
        }
    }
}

/// Renders a photo of `label` (`width` × `height` class indices of the
/// landscapes table) from `seed`. Values past the table render as sky.
pub fn render(label: &[u8], width: usize, height: usize, seed: u64) -> MapPhoto {
    let clean: Vec<u8> = label
        .iter()
        .map(|&c| if (c as usize) < CLASS_COUNT { c } else { SKY })
        .collect();
    let map = Layout::new(&clean, width, height);
    let mut rng = Rng::new(mix64(seed ^ 0x6d61_7066));
    let look = Look::new(&mut rng);
    let mut rgb = vec![[0.0f32; 3]; width * height];
    // Sky everywhere first: what water mirrors where the map has no sky.
    let sky_of: Vec<Rgb> = (0..width * height).map(|i| sky(&map, &look, i)).collect();
    for i in 0..width * height {
        rgb[i] = match clean[i] {
            SKY => sky_of[i],
            CLOUDS => cloud(&map, &look, i, sky_of[i]),
            MOUNTAIN | SNOW | HILL => relief(&map, &look, i),
            GRASS | SAND | DIRT => ground(&map, &look, i),
            _ => sky_of[i],
        };
    }
    for (n, r) in map.regions.iter().enumerate() {
        if let Some(domes) = Domes::of(r.class) {
            canopy(&map, &look, n, &domes, &mut rgb, &mut rng);
        }
    }
    water(&map, &look, &sky_of, &mut rgb);
    grade_pixels(&mut rgb, width, height, &look.light, look.grain_seed);
    MapPhoto {
        time: look.light.time,
        rgb: rgb
            .iter()
            .flat_map(|c| c.map(|ch| (ch * 255.0 + 0.5) as u8))
            .collect(),
    }
}

fn sky(map: &Layout, look: &Look, i: usize) -> Rgb {
    let l = &look.light;
    let (u, v) = (map.u(i % map.w), map.v(i / map.w));
    let hv = map.horizon_v.max(0.2);
    let g = (v / hv).clamp(0.0, 1.0);
    let base = mix(l.sky_top, l.sky_horizon, g.powf(1.8));
    let (su, sv) = l.sun_at;
    let d = ((u - su).powi(2) + (v - sv).powi(2)).sqrt();
    add(
        base,
        scale(l.sun, l.glow * ((-d * 4.0).exp() * 0.6 + (-d * 20.0).exp())),
    )
}

/// Clouds lit from above: bright near their top edge, shaded below, soft at
/// their rim.
fn cloud(map: &Layout, look: &Look, i: usize, behind: Rgb) -> Rgb {
    let l = &look.light;
    let r = &map.regions[map.region[i] as usize];
    let (x, y) = (i % map.w, i / map.w);
    let tall = (r.y1 - r.y0 + 1) as f32;
    let f = 4.0 / tall.max(4.0);
    let puff = look.noise[0].fbm(x as f32 * f, y as f32 * f * 1.6, 4);
    let depth = map.up[i] as f32 / tall;
    let light_side = (0.85 - 0.9 * depth + 0.6 * puff).clamp(0.0, 1.0);
    let mut c = mix(l.cloud_shade, l.cloud_lit, light_side);
    let (su, sv) = l.sun_at;
    let d = ((map.u(x) - su).powi(2) + (map.v(y) - sv).powi(2)).sqrt();
    c = add(c, scale(l.sun, l.glow * (-d * 3.0).exp() * 0.5));
    let rim = smoothstep(0.0, 3.0, map.inside(i));
    mix(behind, c, 0.55 + 0.45 * rim)
}

/// How far into the haze a region lies: regions that end near the horizon
/// and are small in the frame are far.
fn far_haze(map: &Layout, r: &Region) -> f32 {
    if map.horizon_v < 0.0 {
        return 0.05;
    }
    let bottom = (r.y1 as f32 + 1.0) / map.h as f32;
    (0.35 - 0.9 * (bottom - map.horizon_v)).clamp(0.0, 0.35)
}

/// Mountains, snow, rock and hills: the region's top edge is a ridgeline;
/// faces turn towards or away from the sun with its slope, and a ridged
/// texture carves them.
fn relief(map: &Layout, look: &Look, i: usize) -> Rgb {
    let l = &look.light;
    let class = map.label[i];
    let r = &map.regions[map.region[i] as usize];
    let (x, y) = (i % map.w, i / map.w);
    let (u, v) = (map.u(x), map.v(y));
    let ridge_at = |xx: usize| {
        let j = y * map.w + xx;
        if map.region[j] == map.region[i] {
            y as f32 - map.up[j] as f32
        } else {
            y as f32 - map.up[i] as f32
        }
    };
    let k = (map.w / 64).max(1);
    let slope = (ridge_at((x + k).min(map.w - 1)) - ridge_at(x.saturating_sub(k))) / (2 * k) as f32;
    let below = map.up[i] as f32 / map.h as f32;
    let tall = ((r.y1 - r.y0 + 1) as f32 / map.h as f32).max(0.05);
    // Textures scale with the region: a near mountain shows larger relief.
    // Near-isotropic: a mountain filling the frame must not turn into
    // vertical streaks (the composer's far ranges can afford gullies).
    let (sx, sy) = (6.5 / tall.powf(0.25), 5.0 / tall.powf(0.25));
    let t = &look.noise[1];
    let here = t.ridged(u * sx, v * sy, 4);
    // The surface tilts both ways: towards the sun's side and up.
    let right = t.ridged((u + 0.004) * sx, v * sy, 4);
    let lower = t.ridged(u * sx, (v + 0.004) * sy, 4);
    let bump = ((right - here) * 35.0 * l.side - (lower - here) * 15.0).clamp(-1.0, 1.0);
    // Painted hills are the land beyond: paler than the grass before them.
    let haze = match class {
        HILL => far_haze(map, r).max(0.18),
        _ => far_haze(map, r),
    };
    let albedo = look.albedo[class as usize];
    let col = match class {
        HILL => {
            let face = (-slope * 1.5).tanh() * l.side * (-below / (0.3 * tall)).exp();
            let patch = t.fbm(u * 6.0, v * 12.0, 3);
            let fine = t.at(u * 90.0, v * 160.0);
            let a = mix(
                albedo,
                rgb8(130, 135, 60),
                smoothstep(0.1, 0.6, patch) * 0.5,
            );
            lit(l, a, 0.65 + 0.3 * face + 0.1 * fine + 0.1 * patch)
        }
        _ => {
            let face = (-slope * 1.5).tanh() * l.side * (-below / (0.15 * tall.max(0.3))).exp();
            let shade = 0.45 + 0.4 * face + 0.22 * bump + 0.3 * (here - 0.5);
            if class == SNOW {
                lit(l, albedo, 0.25 + shade * 0.9)
            } else {
                lit(l, albedo, shade)
            }
        }
    };
    let valley = 0.15 * (map.up[i] as f32 / (r.y1 - r.y0 + 1) as f32);
    hazed(l, col, haze + valley * (1.0 - haze))
}

/// Grass, sand and dirt on a ground plane: features shrink towards the
/// horizon; grass has blades, sand ripples, dirt pebbles.
fn ground(map: &Layout, look: &Look, i: usize) -> Rgb {
    let l = &look.light;
    let class = map.label[i];
    let (x, y) = (i % map.w, i / map.w);
    let t = map.nearness(y);
    let z = 1.0 / t;
    let gx = (map.u(x) - 0.5) * 2.0 * z;
    let tex = &look.noise[2];
    let patch = look.noise[3].fbm(gx * 0.7, z * 0.7, 3);
    let albedo = look.albedo[class as usize];
    let (albedo, shade) = match class {
        GRASS => {
            let a = mix(
                albedo,
                palette::DRY_GRASS,
                0.5 * smoothstep(-0.2, 0.5, patch),
            );
            let stripes = tex.at(gx * 0.5 + 11.0, z * 2.5);
            let blades = tex.at(x as f32 * 0.45, y as f32 * 0.08)
                + 0.5 * tex.at(x as f32 * 1.1 + 50.0, y as f32 * 0.25);
            (a, 0.75 + 0.12 * stripes + 0.25 * blades * t.sqrt())
        }
        SAND => {
            let ripple = 0.05 * (z * 9.0 + gx * 1.5 + 3.0 * patch).sin();
            let fine = 0.06 * tex.at(x as f32 * 0.9, y as f32 * 0.9) * t;
            (albedo, 0.8 + ripple + fine)
        }
        _ => {
            let pebbles = tex.at(x as f32 * 0.5, y as f32 * 0.9) * t;
            (albedo, 0.75 + 0.2 * pebbles + 0.1 * patch)
        }
    };
    let haze = if map.horizon_v < 0.0 {
        0.0
    } else {
        0.55 * (1.0 - t).powi(6)
    };
    hazed(l, lit(l, albedo, shade), haze)
}

/// How a class's region is filled with domes: canopies of trees and
/// bushes, boulders of rock (as the composer's props are painted).
struct Domes {
    /// Dome radius for a region of one pixel's square root, before nearness.
    size: f32,
    max_radius: f32,
    /// How much the surface texture shades and tilts the domes.
    contrast: f32,
    bump: f32,
    /// Shade between domes: the canopy's dark depth, or a boulder's crevice.
    gap: f32,
}

impl Domes {
    fn of(class: u8) -> Option<Self> {
        match class {
            TREE => Some(Self {
                size: 0.09,
                max_radius: 26.0,
                contrast: 0.3,
                bump: 0.5,
                gap: 0.08,
            }),
            BUSH => Some(Self {
                size: 0.12,
                max_radius: 22.0,
                contrast: 0.25,
                bump: 0.4,
                gap: 0.2,
            }),
            ROCK => Some(Self {
                size: 0.25,
                max_radius: 60.0,
                contrast: 0.12,
                bump: 0.9,
                gap: 0.25,
            }),
            _ => None,
        }
    }
}

/// A tree, bush or rock region as domes packed into it (their size from
/// the region's), each lit from the sun's side, shaded gaps between them,
/// the underside in shade.
fn canopy(map: &Layout, look: &Look, n: usize, d: &Domes, rgb: &mut [Rgb], rng: &mut Rng) {
    let l = &look.light;
    let r = &map.regions[n];
    let (rw, rh) = ((r.x1 - r.x0 + 1) as f32, (r.y1 - r.y0 + 1) as f32);
    let near = 0.5 + map.v(r.y1);
    let radius = (d.size * (r.pixels as f32).sqrt() * near).clamp(2.0, d.max_radius);
    let step = radius * 0.8;
    let (cols, rows) = (
        (rw / step).ceil() as usize + 2,
        (rh / step).ceil() as usize + 2,
    );
    // Dome centres on a jittered grid; a cell's dome is kept where it
    // stands on the region.
    let mut domes: Vec<Option<(f32, f32, f32, f32)>> = vec![None; cols * rows];
    for gy in 0..rows {
        for gx in 0..cols {
            let cx = r.x0 as f32 + (gx as f32 - 0.5 + rng.range(0.0, 1.0)) * step;
            let cy = r.y0 as f32 + (gy as f32 - 0.5 + rng.range(0.0, 1.0)) * step;
            let (ix, iy) = (cx.round(), cy.round());
            if ix < 0.0 || iy < 0.0 || ix >= map.w as f32 || iy >= map.h as f32 {
                continue;
            }
            if map.region[iy as usize * map.w + ix as usize] as usize == n {
                let rr = radius * rng.range(0.75, 1.25);
                domes[gy * cols + gx] = Some((cx, cy, rr, rng.range(0.0, 0.35)));
            }
        }
    }
    let albedo = look.albedo[r.class as usize];
    let tex = &look.noise[0];
    let haze = far_haze(map, r) * 0.6;
    let (lx, ly, lz) = (-0.55 * l.side, -0.65, 0.52);
    for y in r.y0..=r.y1 {
        for x in r.x0..=r.x1 {
            let i = y * map.w + x;
            if map.region[i] as usize != n {
                continue;
            }
            let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
            let f = 3.0 / radius;
            let detail = tex.fbm(px * f, py * f, 3);
            let edge = 1.0 + 0.35 * detail;
            let (gx, gy) = (
                ((px - r.x0 as f32) / step + 0.5) as usize,
                ((py - r.y0 as f32) / step + 0.5) as usize,
            );
            let mut best: Option<(f32, f32, f32, f32)> = None;
            for cy in gy.saturating_sub(2)..(gy + 3).min(rows) {
                for cx in gx.saturating_sub(2)..(gx + 3).min(cols) {
                    let Some((bx, by, br, lift)) = domes[cy * cols + cx] else {
                        continue;
                    };
                    let (dx, dy) = ((px - bx) / br, (py - by) / br);
                    let d2 = (dx * dx + dy * dy) / edge;
                    if d2 < 1.0 {
                        let hgt = (1.0 - d2).sqrt() + lift;
                        if best.is_none_or(|b| hgt > b.0) {
                            best = Some((hgt, dx, dy, (1.0 - d2).sqrt()));
                        }
                    }
                }
            }
            let under = 1.0 - 0.35 * smoothstep(0.4, 1.0, (py - r.y0 as f32) / rh);
            let shade = match best {
                Some((_, mut dx, mut dy, dz)) => {
                    let g = 0.7 * f;
                    dx += d.bump * tex.at(px * g + 31.0, py * g);
                    dy += d.bump * tex.at(px * g, py * g + 57.0);
                    let norm = (dx * dx + dy * dy + dz * dz).sqrt().max(1e-3);
                    let lambert = (dx * lx + dy * ly + dz * lz) / norm;
                    (0.15 + 0.85 * lambert.max(0.0)) * under + d.contrast * detail
                }
                // Between domes: the shadowed depth of the canopy.
                None => d.gap + 0.1 * detail.abs(),
            };
            rgb[i] = hazed(l, lit(l, albedo, shade), haze);
        }
    }
}

/// Water mirrors what stands above its top edge in each column (the sky's
/// colour where nothing does), with ripples that grow towards the viewer
/// and the water's own tint.
fn water(map: &Layout, look: &Look, sky_of: &[Rgb], rgb: &mut [Rgb]) {
    let l = &look.light;
    let tint = look.albedo[WATER as usize];
    let ripple = &look.noise[3];
    let chop = look.chop;
    let hv = map.horizon_v.max(0.0);
    let source = rgb.to_vec();
    for y in 0..map.h {
        let v = map.v(y);
        let t = ((v - hv) / (1.0 - hv)).clamp(0.0, 1.0);
        for x in 0..map.w {
            let i = y * map.w + x;
            if map.label[i] != WATER {
                continue;
            }
            let u = map.u(x);
            let up = map.up[i] as f32;
            let top = y as f32 - up;
            let zz = 1.0 / (t + 0.02);
            let wave = ripple.fbm(u * 3.0 * zz, zz * 12.0, 3);
            let sx = (x as f32 + wave * (1.0 + chop * 8.0) * t * map.w as f32 * 0.02)
                .round()
                .clamp(0.0, (map.w - 1) as f32) as usize;
            let sy = top - 1.0 - up * 0.9 + wave * chop * up * 0.3;
            let reflected = if sy >= 0.0 {
                let j = sy as usize * map.w + sx;
                if map.label[j] == WATER {
                    sky_of[j]
                } else {
                    source[j]
                }
            } else {
                sky_of[sx]
            };
            let fresnel = 0.35 + 0.5 * t;
            let mut col = mix(scale(reflected, 0.85), tint, fresnel * (0.5 + 0.5 * chop));
            col = scale(col, 1.0 + 0.18 * wave * (0.4 + chop));
            // Wavelets: short dashes, wider than tall, shrinking with depth
            // (the composer's water gets this texture from the scene it
            // mirrors; a painted lake often mirrors only the sky).
            let wavelet = ripple.fbm(u * 10.0 * zz, zz * 60.0 + 7.0, 2);
            col = scale(col, 1.0 + 0.3 * wavelet * (0.3 + t) * (0.5 + chop));
            let glint = hash2(look.grain_seed, x as u32, y as u32);
            let (su, _) = l.sun_at;
            let path = (-((u - su).abs() * 5.0)).exp() * (0.3 + l.glow).min(1.0);
            if glint > 0.99 - 0.15 * path && wave > 0.1 {
                col = mix(col, add(l.sun, [0.3; 3]), 0.3 + 0.4 * path);
            }
            rgb[i] = col;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lake(w: usize, h: usize) -> Vec<u8> {
        (0..w * h)
            .map(|i| {
                let (x, y) = (i % w, i / w);
                if y < h * 2 / 5 {
                    SKY
                } else if y < h / 2 && x > w / 3 {
                    MOUNTAIN
                } else if y < h / 2 {
                    TREE
                } else {
                    WATER
                }
            })
            .collect()
    }

    #[test]
    fn the_same_map_and_seed_give_the_same_photo_and_another_seed_another() {
        let map = lake(96, 64);
        let a = render(&map, 96, 64, 7);
        assert_eq!(a, render(&map, 96, 64, 7));
        assert_eq!(a.rgb.len(), 96 * 64 * 3);
        assert_ne!(a.rgb, render(&map, 96, 64, 8).rgb);
    }

    #[test]
    fn regions_are_connected_pieces_of_one_class() {
        let map = [SKY, SKY, TREE, TREE, SKY, TREE];
        let (id, regions) = regions(&map, 3, 2);
        // Row 0: sky sky tree / row 1: tree sky tree: the trees at (2,0)
        // and (2,1) join; (0,1) stands alone.
        assert_eq!(regions.len(), 3);
        assert_eq!(id[2], id[5]);
        assert_ne!(id[3], id[2]);
        assert_eq!(regions[id[0] as usize].pixels, 3);
    }

    #[test]
    fn water_mirrors_what_stands_above_it() {
        // Sky over water, a mountain on the right half only: in the same
        // row, the water under the mountain is darker than under the sky.
        let (w, h) = (64, 64);
        let map: Vec<u8> = (0..w * h)
            .map(|i| match (i % w, i / w) {
                (_, y) if y >= 32 => WATER,
                (x, y) if y >= 22 && x >= 32 => MOUNTAIN,
                _ => SKY,
            })
            .collect();
        for seed in 0..4 {
            let photo = render(&map, w, h, seed);
            let luma = |x: usize, y: usize| {
                let i = (y * w + x) * 3;
                photo.rgb[i..i + 3].iter().map(|&c| c as f32).sum::<f32>()
            };
            let (under_mountain, under_sky) = (luma(48, 35), luma(16, 35));
            assert!(
                under_mountain < under_sky,
                "seed {seed}: {under_mountain} {under_sky}"
            );
        }
    }
}
