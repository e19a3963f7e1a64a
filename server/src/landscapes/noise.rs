//! 2-D gradient noise (with fBm and ridged sums) for the renderer's shapes
//! and textures; decisions use `crate::random`'s SplitMix64 streams. Both
//! are pure functions of their seeds, so a scene is a function of its seed.

pub use crate::random::{mix64, Rng};

impl Rng {
    /// A noise field seeded from this stream.
    pub fn noise(&mut self) -> Noise {
        Noise {
            seed: self.next_u64() as u32,
        }
    }
}

/// Gradient (Perlin-style) noise on the plane, roughly in [-1, 1].
#[derive(Debug, Clone, Copy)]
pub struct Noise {
    seed: u32,
}

fn fade(t: f32) -> f32 {
    t * t * t * (t * (t * 6.0 - 15.0) + 10.0)
}

fn grad(h: u32, x: f32, y: f32) -> f32 {
    match h & 7 {
        0 => x + y,
        1 => x - y,
        2 => -x + y,
        3 => -x - y,
        4 => 1.41 * x,
        5 => -1.41 * x,
        6 => 1.41 * y,
        _ => -1.41 * y,
    }
}

impl Noise {
    fn hash(&self, ix: i32, iy: i32) -> u32 {
        let mut h = self.seed
            ^ (ix as u32).wrapping_mul(0x9E37_79B1)
            ^ (iy as u32).wrapping_mul(0x85EB_CA77);
        h ^= h >> 16;
        h = h.wrapping_mul(0x7FEB_352D);
        h ^= h >> 15;
        h = h.wrapping_mul(0x846C_A68B);
        h ^ (h >> 16)
    }

    pub fn at(&self, x: f32, y: f32) -> f32 {
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = (x - x0, y - y0);
        let (ix, iy) = (x0 as i32, y0 as i32);
        let (u, v) = (fade(fx), fade(fy));
        let n00 = grad(self.hash(ix, iy), fx, fy);
        let n10 = grad(self.hash(ix + 1, iy), fx - 1.0, fy);
        let n01 = grad(self.hash(ix, iy + 1), fx, fy - 1.0);
        let n11 = grad(self.hash(ix + 1, iy + 1), fx - 1.0, fy - 1.0);
        let a = n00 + (n10 - n00) * u;
        let b = n01 + (n11 - n01) * u;
        a + (b - a) * v
    }

    /// Fractal Brownian motion: octaves of doubling frequency and halving
    /// amplitude, normalised to roughly [-1, 1].
    pub fn fbm(&self, x: f32, y: f32, octaves: u32) -> f32 {
        let (mut sum, mut amp, mut norm, mut f) = (0.0, 1.0, 0.0, 1.0);
        for o in 0..octaves {
            // Shift each octave so that the lattices do not line up at the origin.
            let shift = o as f32 * 17.31;
            sum += amp * self.at(x * f + shift, y * f - shift);
            norm += amp;
            amp *= 0.5;
            f *= 2.03;
        }
        sum / norm
    }

    /// Ridged fBm in [0, 1]: sharp crests where the noise crosses zero.
    pub fn ridged(&self, x: f32, y: f32, octaves: u32) -> f32 {
        let (mut sum, mut amp, mut norm, mut f) = (0.0, 1.0, 0.0, 1.0);
        for o in 0..octaves {
            let shift = o as f32 * 11.7;
            let n = 1.0 - self.at(x * f + shift, y * f + shift).abs();
            sum += amp * n * n;
            norm += amp;
            amp *= 0.5;
            f *= 2.1;
        }
        sum / norm
    }

    /// 1-D fBm along a line, for ridgelines and shorelines.
    pub fn line(&self, x: f32, octaves: u32) -> f32 {
        self.fbm(x, 0.371, octaves)
    }
}

/// A stateless per-pixel hash in [-1, 1], for grain and sparkles.
pub fn hash2(seed: u64, x: u32, y: u32) -> f32 {
    let h = mix64(seed ^ ((x as u64) << 32 | y as u64));
    (h >> 40) as f32 / (1u64 << 23) as f32 - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_stays_in_range_and_varies() {
        let n = Rng::new(3).noise();
        let values: Vec<f32> = (0..2000)
            .map(|i| n.fbm(i as f32 * 0.137, i as f32 * 0.071, 5))
            .collect();
        assert!(values.iter().all(|v| v.abs() <= 1.2));
        let spread = values.iter().cloned().fold(f32::MIN, f32::max)
            - values.iter().cloned().fold(f32::MAX, f32::min);
        assert!(spread > 0.5, "spread {spread}");
    }
}
