//! Seeded randomness for the renderer: a SplitMix64 generator for decisions
//! and 2-D gradient noise (with fBm and ridged sums) for shapes and textures.
//! Both are pure functions of their seeds, so a scene is a function of its seed.

/// SplitMix64's output function; also used to derive one seed from others.
pub fn mix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A SplitMix64 stream.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.0)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }

    pub fn chance(&mut self, p: f32) -> bool {
        self.unit() < p
    }

    /// Uniform in lo..=hi.
    pub fn int(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }

    /// An index drawn with the given (unnormalised) weights.
    pub fn pick(&mut self, weights: &[f32]) -> usize {
        let total: f32 = weights.iter().sum();
        let mut r = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if r < *w {
                return i;
            }
            r -= w;
        }
        weights.len() - 1
    }

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

    #[test]
    fn rng_is_a_function_of_its_seed() {
        let a: Vec<u64> = (0..4).map(|_| Rng::new(9).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(Rng::new(9).next_u64(), Rng::new(10).next_u64());
    }
}
