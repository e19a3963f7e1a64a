//! Paints a planned scene, back to front, into a label map and an image that
//! agree pixel for pixel: sky and clouds, ranges far to near, the ground,
//! far props, water (reflecting what is above it), near props, then the grade.

use super::color::{add, luma, mix, mul, rgb8, scale, smoothstep, Rgb};
use super::noise::{hash2, Noise, Rng};
use super::scene::{Light, Prop, PropKind, Range, Relief, Scene, Shore, Soil};
use super::{BUSH, CLOUDS, DIRT, GRASS, HILL, MOUNTAIN, ROCK, SAND, SKY, SNOW, TREE, WATER};

/// A label map and a float image of one scene, row-major.
pub struct Canvas {
    pub size: usize,
    pub label: Vec<u8>,
    pub rgb: Vec<Rgb>,
}

impl Canvas {
    fn new(size: usize) -> Self {
        Self {
            size,
            label: vec![SKY; size * size],
            rgb: vec![[0.0; 3]; size * size],
        }
    }

    fn u(&self, x: usize) -> f32 {
        (x as f32 + 0.5) / self.size as f32
    }

    fn v(&self, y: usize) -> f32 {
        (y as f32 + 0.5) / self.size as f32
    }

    fn put(&mut self, x: usize, y: usize, class: u8, c: Rgb) {
        let i = y * self.size + x;
        self.label[i] = class;
        self.rgb[i] = c;
    }

    /// Paints with partial coverage (anti-aliased edges); the label follows
    /// whichever covers more of the pixel.
    fn blend(&mut self, x: usize, y: usize, class: u8, c: Rgb, cover: f32) {
        let i = y * self.size + x;
        self.rgb[i] = mix(self.rgb[i], c, cover);
        if cover >= 0.5 {
            self.label[i] = class;
        }
    }

    fn row_of(&self, v: f32) -> usize {
        ((v * self.size as f32).max(0.0) as usize).min(self.size)
    }
}

/// Direct plus ambient light on a surface; `shade` is 0 in shadow, ~1 facing the sun.
pub(super) fn lit(light: &Light, albedo: Rgb, shade: f32) -> Rgb {
    mul(albedo, add(light.ambient, scale(light.sun, shade.max(0.0))))
}

pub(super) fn hazed(light: &Light, c: Rgb, amount: f32) -> Rgb {
    mix(c, light.haze, amount.clamp(0.0, 1.0))
}

pub fn paint(scene: &Scene, size: usize) -> Canvas {
    let mut c = Canvas::new(size);
    sky(&mut c, scene);
    for range in &scene.ranges {
        relief(&mut c, scene, range);
        for t in &range.trees {
            prop(&mut c, &scene.light, t);
        }
    }
    ground(&mut c, scene);
    let water_top = scene.water.as_ref().map_or(f32::MAX, |w| w.top_v);
    let mut water_done = scene.water.is_none();
    for p in &scene.props {
        if !water_done && p.base_v > water_top {
            water(&mut c, scene);
            water_done = true;
        }
        prop(&mut c, &scene.light, p);
    }
    if !water_done {
        water(&mut c, scene);
    }
    grade(&mut c, scene);
    c
}

fn sky(c: &mut Canvas, scene: &Scene) {
    let l = &scene.light;
    let hv = scene.ground.horizon_v;
    let last = c.row_of(hv + 0.02);
    let (su, sv) = l.sun_at;
    for y in 0..last {
        let v = c.v(y);
        let g = (v / hv).clamp(0.0, 1.0);
        let base = mix(l.sky_top, l.sky_horizon, g.powf(1.8));
        for x in 0..c.size {
            let u = c.u(x);
            let d = ((u - su).powi(2) + (v - sv).powi(2)).sqrt();
            let mut col = add(
                base,
                scale(l.sun, l.glow * ((-d * 4.0).exp() * 0.6 + (-d * 20.0).exp())),
            );
            if d < l.sun_disc {
                col = mix(col, [1.0, 0.97, 0.88], 0.95);
            }
            let mut class = SKY;
            let s = hv - v;
            if s > 0.0 {
                // Clouds on a plane above the ground: large overhead, thin bands near the horizon.
                let z = 0.3 / (s + 0.07);
                let cx = (u - 0.5) * z;
                let density =
                    |zz: f32| scene.clouds.fbm(cx * 1.4 + 7.0, zz * 3.2, 5) + l.cloud_cover;
                let dens = density(z) - 0.1 * (0.03 / (s + 0.01)).min(1.0);
                if dens > -0.02 {
                    let above = density(0.3 / (s + 0.02 + 0.07));
                    let light_side = (0.55 + (dens - above) * 5.0).clamp(0.0, 1.0);
                    let mut cloud = mix(l.cloud_shade, l.cloud_lit, light_side);
                    cloud = scale(cloud, 1.0 - 0.3 * smoothstep(0.1, 0.5, dens));
                    cloud = add(cloud, scale(l.sun, l.glow * (-d * 3.0).exp() * 0.5));
                    cloud = mix(cloud, l.sky_horizon, 0.5 * (1.0 - s / hv).powi(4));
                    let alpha = smoothstep(-0.02, 0.2, dens);
                    col = mix(col, cloud, alpha);
                    if alpha >= 0.5 {
                        class = CLOUDS;
                    }
                }
            }
            c.put(x, y, class, col);
        }
    }
}

fn relief(c: &mut Canvas, scene: &Scene, r: &Range) {
    let l = &scene.light;
    let n = c.size;
    let ridge: Vec<f32> = (0..n).map(|x| r.ridge_v(c.u(x))).collect();
    let peak = ridge.iter().cloned().fold(f32::MAX, f32::min);
    let rise = (r.base_v - peak).max(1e-3);
    let bottom = c.row_of(r.base_v + 2.0 / n as f32);
    let k = (n / 64).max(1);
    let texture = r.texture;
    for x in 0..n {
        let rv = ridge[x];
        if rv >= r.base_v {
            continue;
        }
        let (a, b) = (ridge[x.saturating_sub(k)], ridge[(x + k).min(n - 1)]);
        let slope = (b - a) * n as f32 / (2 * k) as f32;
        let facet = (-slope * 1.5).tanh() * l.side;
        let top = rv * n as f32;
        let u = c.u(x);
        for y in (top.floor().max(0.0) as usize)..bottom {
            let cover = ((y + 1) as f32 - top).min(1.0);
            let v = c.v(y);
            let below = v - rv;
            let elevation = (r.base_v - v) / rise;
            let (class, col) = match r.relief {
                Relief::Mountain { snowline, mesa } => {
                    let (sx, sy) = if mesa { (6.0, 10.0) } else { (7.0, 4.5) };
                    let here = texture.ridged(u * sx, v * sy, 4);
                    let right = texture.ridged((u + 0.004) * sx, v * sy, 4);
                    let relief = (right - here) * 40.0 * l.side;
                    let face = facet * (-below / 0.15).exp();
                    let shade =
                        0.45 + 0.4 * face + 0.35 * relief.clamp(-1.0, 1.0) + 0.3 * (here - 0.5);
                    let snowy = snowline.is_some_and(|line| {
                        elevation + 0.22 * texture.fbm(u * 12.0, v * 3.0, 3) - 0.08 * relief > line
                    });
                    let outcrop = !snowy
                        && !mesa
                        && texture.fbm(u * 7.0 + 3.0, v * 7.0, 3) > 0.28 + 0.35 * (1.0 - elevation);
                    let valley = (1.0 - elevation).powi(2) * 0.25 * (1.0 - r.haze);
                    if snowy {
                        let col = lit(l, [0.93, 0.95, 1.0], 0.25 + shade * 0.9);
                        (SNOW, hazed(l, col, r.haze + valley))
                    } else if outcrop {
                        let grain = texture.fbm(u * 60.0, v * 60.0, 2);
                        let col = lit(l, rgb8(105, 103, 100), 0.25 + shade * 0.9 + 0.25 * grain);
                        (ROCK, hazed(l, col, r.haze + valley))
                    } else {
                        let strata = if mesa {
                            0.12 * (v * 140.0 + 2.0 * texture.at(u * 8.0, v * 8.0)).sin()
                        } else {
                            0.0
                        };
                        let col = lit(l, r.albedo, shade + strata);
                        (MOUNTAIN, hazed(l, col, r.haze + valley))
                    }
                }
                Relief::Hill => {
                    let face = facet * (-below / 0.3).exp();
                    let patch = texture.fbm(u * 6.0, v * 12.0, 3);
                    let fine = texture.at(u * 90.0, v * 160.0);
                    let albedo = mix(
                        r.albedo,
                        rgb8(130, 135, 60),
                        smoothstep(0.1, 0.6, patch) * 0.5,
                    );
                    let shade = 0.65 + 0.3 * face + 0.1 * fine + 0.1 * patch;
                    (
                        HILL,
                        hazed(l, lit(l, albedo, shade), r.haze + 0.1 * (1.0 - elevation)),
                    )
                }
                Relief::Dune => {
                    let face = (-slope * 5.0).tanh() * l.side * (-below / 0.25).exp();
                    let ripple =
                        0.06 * (v * 300.0 + u * 40.0 + 4.0 * texture.at(u * 6.0, v * 10.0)).sin();
                    let shade = 0.55 + 0.45 * face + ripple;
                    (SAND, hazed(l, lit(l, r.albedo, shade), r.haze))
                }
            };
            c.blend(x, y, class, col, cover.clamp(0.0, 1.0));
        }
    }
}

fn ground(c: &mut Canvas, scene: &Scene) {
    let l = &scene.light;
    let g = &scene.ground;
    let first = c.row_of(g.horizon_v);
    for y in first..c.size {
        let v = c.v(y);
        let z = g.distance(v);
        let t = 1.0 / z;
        let haze = g.haze(v);
        for x in 0..c.size {
            let u = c.u(x);
            if scene.water.as_ref().is_some_and(|w| w.contains(u, v)) {
                continue;
            }
            let gx = g.across(u, z);
            let patch = g.patches.fbm(gx * 0.7, z * 0.7, 3);
            let beach = scene
                .water
                .as_ref()
                .is_some_and(|w| w.on_beach(u, v, g.horizon_v));
            let (class, albedo, shade) = if g.on_path(u, v) {
                let pebbles = g.texture.at(x as f32 * 0.6, y as f32 * 1.2) * t;
                (DIRT, g.dirt, 0.75 + 0.2 * pebbles + 0.1 * patch)
            } else if beach || g.soil == Soil::Sand {
                let ripple = 0.05 * (z * 9.0 + gx * 1.5 + 3.0 * patch).sin();
                let fine = 0.06 * g.texture.at(x as f32 * 0.9, y as f32 * 0.9) * t;
                if g.soil == Soil::Sand && !beach && patch > g.bare {
                    (DIRT, mix(g.dirt, g.sand, 0.3), 0.75 + fine + 0.1 * patch)
                } else {
                    (SAND, g.sand, 0.8 + ripple + fine)
                }
            } else if patch > g.bare {
                let pebbles = g.texture.at(x as f32 * 0.5, y as f32 * 0.9) * t;
                (DIRT, g.dirt, 0.75 + 0.2 * pebbles)
            } else {
                let albedo = mix(g.lush, g.dry, 0.7 * smoothstep(-0.2, 0.5, patch));
                let stripes = g.texture.at(gx * 0.5 + 11.0, z * 2.5);
                let blades = g.texture.at(x as f32 * 0.45, y as f32 * 0.08)
                    + 0.5 * g.texture.at(x as f32 * 1.1 + 50.0, y as f32 * 0.25);
                (
                    GRASS,
                    albedo,
                    0.75 + 0.12 * stripes + 0.25 * blades * t.sqrt(),
                )
            };
            let col = hazed(l, lit(l, albedo, shade), haze);
            c.put(x, y, class, col);
        }
    }
}

fn water(c: &mut Canvas, scene: &Scene) {
    let Some(w) = &scene.water else {
        return;
    };
    let l = &scene.light;
    let n = c.size;
    let top = c.row_of(w.top_v);
    if top == 0 {
        return;
    }
    let hv = scene.ground.horizon_v;
    let (su, _) = l.sun_at;
    let sea = matches!(w.shore, Shore::Sea { .. });
    for y in top..n {
        let v = c.v(y);
        let dy = (y - top) as f32;
        let t = ((v - hv) / (1.0 - hv)).clamp(0.0, 1.0);
        for x in 0..n {
            let u = c.u(x);
            if !w.contains(u, v) {
                continue;
            }
            // Ripples: horizontal streaks, longer and stronger towards the viewer.
            let zz = 1.0 / (t + 0.02);
            let wave = w.ripple.fbm(u * 3.0 * zz, zz * 12.0, 3);
            let chop = 1.0 - w.calm;
            let sx = x as f32 + wave * (1.0 + chop * 8.0) * t * n as f32 * 0.02;
            let sy = top as f32 - 1.0 - dy + wave * chop * dy * 0.3;
            let sx = sx.round().clamp(0.0, (n - 1) as f32) as usize;
            let sy = sy.round().clamp(0.0, (top - 1) as f32) as usize;
            let reflected = c.rgb[sy * n + sx];
            let fresnel = 0.35 + 0.5 * t;
            let mut col = mix(scale(reflected, 0.85), w.tint, fresnel * (0.5 + 0.5 * chop));
            col = scale(col, 1.0 + 0.18 * wave * (0.4 + chop));
            // Glints where the sun's path crosses wave crests.
            let glint = hash2(scene.grain_seed, x as u32, y as u32);
            let path = (-((u - su).abs() * 5.0)).exp()
                * (1.0 - l.cloud_cover.max(0.0) * 4.0).max(0.0)
                * (0.3 + l.glow).min(1.0);
            if glint > 0.985 - 0.2 * path && wave > 0.1 {
                col = mix(col, add(l.sun, [0.3; 3]), 0.3 + 0.5 * path);
            }
            if sea {
                let to_shore = w.shore_v(u) - v;
                let foam = smoothstep(0.025, 0.0, to_shore) * smoothstep(-0.1, 0.3, wave + 0.3);
                col = mix(col, [0.92, 0.94, 0.95], foam * 0.8);
            }
            c.put(x, y, WATER, col);
        }
    }
}

/// One blob of a canopy, bush or boulder: a disc with a height for shading.
struct Blob {
    x: f32,
    y: f32,
    r: f32,
    lift: f32,
}

struct Texture {
    noise: Noise,
    /// Features per blob radius.
    scale: f32,
    contrast: f32,
    /// How much the texture tilts the surface (leaf clumps, facets of stone).
    bump: f32,
}

/// Paints overlapping discs lit as domes, with a noisy edge and texture.
fn blobs(
    c: &mut Canvas,
    light: &Light,
    blobs: &[Blob],
    class: u8,
    albedo: Rgb,
    tex: &Texture,
    haze: f32,
) {
    if blobs.is_empty() {
        return;
    }
    let n = c.size as f32;
    let r0 = blobs.iter().map(|b| b.r).fold(0.0, f32::max);
    let x0 = blobs.iter().map(|b| b.x - b.r).fold(f32::MAX, f32::min) - 2.0;
    let x1 = blobs.iter().map(|b| b.x + b.r).fold(f32::MIN, f32::max) + 2.0;
    let y0 = blobs.iter().map(|b| b.y - b.r).fold(f32::MAX, f32::min) - 2.0;
    let y1 = blobs.iter().map(|b| b.y + b.r).fold(f32::MIN, f32::max) + 2.0;
    let ly = -0.65;
    let lx = -0.55 * light.side;
    let lz = 0.52;
    let fy = y1 - y0;
    for y in (y0.max(0.0) as usize)..(y1.min(n) as usize) {
        for x in (x0.max(0.0) as usize)..(x1.min(n) as usize) {
            let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
            let f = tex.scale / r0;
            let detail = tex.noise.fbm(px * f, py * f, 3);
            let edge = 1.0 + 0.35 * detail;
            let mut best: Option<(f32, f32, f32, f32)> = None;
            for b in blobs {
                let (dx, dy) = ((px - b.x) / b.r, (py - b.y) / b.r);
                let d2 = (dx * dx + dy * dy) / edge;
                if d2 < 1.0 {
                    let h = (1.0 - d2).sqrt() + b.lift;
                    if best.is_none_or(|bb| h > bb.0) {
                        best = Some((h, dx, dy, (1.0 - d2).sqrt()));
                    }
                }
            }
            let Some((_, mut dx, mut dy, dz)) = best else {
                continue;
            };
            if tex.bump > 0.0 {
                let g = 0.7 * f;
                dx += tex.bump * tex.noise.at(px * g + 31.0, py * g);
                dy += tex.bump * tex.noise.at(px * g, py * g + 57.0);
            }
            let norm = (dx * dx + dy * dy + dz * dz).sqrt().max(1e-3);
            let lambert = (dx * lx + dy * ly + dz * lz) / norm;
            let underside = 1.0 - 0.35 * smoothstep(0.4, 1.0, (py - y0) / fy);
            let shade = (0.15 + 0.85 * lambert.max(0.0)) * underside + tex.contrast * detail;
            let col = lit(light, albedo, shade);
            c.put(x, y, class, hazed(light, col, haze));
        }
    }
}

fn prop(c: &mut Canvas, light: &Light, p: &Prop) {
    let n = c.size as f32;
    let h = p.height_v * n;
    if h < 1.0 {
        return;
    }
    let mut rng = Rng::new(p.seed);
    let (bx, by) = (p.u * n, p.base_v * n);
    match p.kind {
        PropKind::Broadleaf => {
            // Small distant trees are all crown: a trunk would read as a lollipop.
            let far = h < 16.0;
            let r = if far { h * 0.45 } else { h * 0.38 };
            let (cx, cy) = (bx, by - h + r * 1.05);
            if !far {
                trunk(c, light, p, bx, cy, by, (r * 0.1).max(0.5));
            }
            let mut parts = vec![Blob {
                x: cx,
                y: cy,
                r: r * 0.8,
                lift: 0.0,
            }];
            for _ in 0..rng.int(4, 8) {
                parts.push(Blob {
                    x: cx + rng.range(-0.6, 0.6) * r,
                    y: cy + rng.range(-0.5, 0.45) * r,
                    r: r * rng.range(0.4, 0.65),
                    lift: rng.range(0.0, 0.4),
                });
            }
            let tex = Texture {
                noise: rng.noise(),
                scale: 3.5,
                contrast: 0.3,
                bump: 0.5,
            };
            blobs(c, light, &parts, TREE, p.albedo, &tex, p.haze);
        }
        PropKind::Bush => {
            let r = h * 0.55;
            let mut parts = Vec::new();
            for _ in 0..rng.int(3, 6) {
                let rr = r * rng.range(0.5, 0.8);
                parts.push(Blob {
                    x: bx + rng.range(-1.0, 1.0) * r,
                    y: by - rr * rng.range(0.4, 0.9),
                    r: rr,
                    lift: rng.range(0.0, 0.3),
                });
            }
            let tex = Texture {
                noise: rng.noise(),
                scale: 3.0,
                contrast: 0.25,
                bump: 0.4,
            };
            blobs(c, light, &parts, BUSH, p.albedo, &tex, p.haze);
        }
        PropKind::Boulder => {
            let r = h * 0.6;
            let mut parts = Vec::new();
            for _ in 0..rng.int(1, 3) {
                let rr = r * rng.range(0.6, 1.0);
                parts.push(Blob {
                    x: bx + rng.range(-0.6, 0.6) * r,
                    y: by - rr * rng.range(0.3, 0.6),
                    r: rr,
                    lift: 0.0,
                });
            }
            let tex = Texture {
                noise: rng.noise(),
                scale: 2.0,
                contrast: 0.12,
                bump: 0.9,
            };
            blobs(c, light, &parts, ROCK, p.albedo, &tex, p.haze);
        }
        PropKind::Conifer => conifer(c, light, p, &mut rng),
    }
}

fn trunk(c: &mut Canvas, light: &Light, p: &Prop, x: f32, top: f32, bottom: f32, half: f32) {
    let n = c.size as f32;
    let col = hazed(light, lit(light, rgb8(80, 68, 55), 0.45), p.haze);
    for y in (top.max(0.0) as usize)..(bottom.min(n) as usize) {
        for xi in ((x - half).max(0.0) as usize)..((x + half).ceil().min(n) as usize) {
            c.put(xi, y, TREE, col);
        }
    }
}

fn conifer(c: &mut Canvas, light: &Light, p: &Prop, rng: &mut Rng) {
    let n = c.size as f32;
    let h = p.height_v * n;
    let (cx, by) = (p.u * n, p.base_v * n);
    let stem = h * 0.1;
    let apex = by - h;
    let body = h - stem;
    let width = h * rng.range(0.16, 0.24);
    let tiers = rng.range(5.0, 9.0);
    let needles = rng.noise();
    trunk(
        c,
        light,
        p,
        cx,
        by - stem - 1.0,
        by,
        (width * 0.12).max(0.5),
    );
    for y in (apex.max(0.0) as usize)..((by - stem).min(n) as usize) {
        let f = ((y as f32 + 0.5 - apex) / body).clamp(0.0, 1.0);
        let tier = (f * tiers).fract();
        let wobble = 1.0 + 0.2 * needles.at(y as f32 * 0.8 / (h * 0.05).max(0.3), 3.3);
        let half = width * (0.08 + 0.92 * f) * (0.6 + 0.4 * tier) * wobble;
        for x in ((cx - half).max(0.0) as usize)..((cx + half).ceil().min(n) as usize) {
            let dx = (x as f32 + 0.5 - cx) / half.max(0.5);
            let tex = needles.fbm(
                x as f32 * 6.0 / h.max(4.0) * 4.0,
                y as f32 * 6.0 / h.max(4.0) * 4.0,
                2,
            );
            let shade = 0.5 - 0.4 * dx * light.side + 0.25 * tex - 0.3 * tier * tier;
            let col = lit(light, p.albedo, shade);
            c.put(x, y, TREE, hazed(light, col, p.haze));
        }
    }
}

/// Exposure, saturation, contrast, a soft vignette and grain, then clamping.
fn grade(c: &mut Canvas, scene: &Scene) {
    grade_pixels(&mut c.rgb, c.size, c.size, &scene.light, scene.grain_seed);
}

/// `grade` of a `width` × `height` image (row-major) in `light`.
pub(super) fn grade_pixels(
    rgb: &mut [Rgb],
    width: usize,
    height: usize,
    l: &Light,
    grain_seed: u64,
) {
    for y in 0..height {
        for x in 0..width {
            let i = y * width + x;
            let mut col = scale(rgb[i], l.exposure);
            let y0 = luma(col);
            col = mix([y0; 3], col, l.saturation);
            for ch in &mut col {
                *ch = 0.5 + (*ch - 0.5) * l.contrast;
            }
            let du = (x as f32 + 0.5) / width as f32 - 0.5;
            let dv = (y as f32 + 0.5) / height as f32 - 0.5;
            let vignette = 1.0 - 0.25 * (du * du + dv * dv);
            let grain = l.grain * hash2(grain_seed ^ 0x5eed, x as u32, y as u32);
            for ch in &mut col {
                *ch = (*ch * vignette + grain).clamp(0.0, 1.0);
            }
            rgb[i] = col;
        }
    }
}
