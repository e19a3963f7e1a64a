//! Composition: the scene plan of one landscape, decided from its seed (which
//! kind, which light, what stands where), in the terms `scene` defines.

use super::color::jitter;
use super::noise::Rng;
use super::scene::*;

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
