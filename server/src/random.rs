//! Seeded randomness that must give the same numbers on every platform:
//! SplitMix64 streams (dataset shuffles, the renderer's decisions) and the
//! standard normal samples behind seeded style vectors.

/// SplitMix64's increment (the golden ratio in 64 bits).
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function; also used to derive one seed from others.
pub fn mix64(mut x: u64) -> u64 {
    x = x.wrapping_add(GOLDEN);
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
        self.0 = self.0.wrapping_add(GOLDEN);
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
}

/// Standard normal samples from a seed: SplitMix64 and Box–Muller, so that a
/// seed gives the same z on every platform.
pub fn normal_samples(seed: u64, n: usize) -> Vec<f32> {
    // The stream that starts one step before `seed`, so that seeds keep the
    // z they have always given.
    let mut rng = Rng::new(seed.wrapping_sub(GOLDEN));
    // 53 random bits in (0, 1].
    let mut next = || ((rng.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
    let mut out = Vec::with_capacity(n + 1);
    while out.len() < n {
        let (u1, u2) = (next(), next());
        let r = (-2.0 * u1.ln()).sqrt();
        let t = 2.0 * std::f64::consts::PI * u2;
        out.push((r * t.cos()) as f32);
        out.push((r * t.sin()) as f32);
    }
    out.truncate(n);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_z_is_reproducible_and_roughly_standard_normal() {
        let a = normal_samples(7, 10_000);
        assert_eq!(a, normal_samples(7, 10_000));
        assert_ne!(a, normal_samples(8, 10_000));
        let mean = a.iter().sum::<f32>() / a.len() as f32;
        let var = a.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / a.len() as f32;
        assert!(
            mean.abs() < 0.05 && (var - 1.0).abs() < 0.05,
            "mean {mean} var {var}"
        );
    }

    /// Seeds must keep their z across versions (saved seeds, galleries):
    /// the stream is SplitMix64 started at the seed, as it always was.
    #[test]
    fn seeds_keep_the_z_they_have_always_given() {
        let mut state = 42u64;
        let mut splitmix = || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 11) as f64 + 1.0
        };
        let (u1, u2) = (
            splitmix() / (1u64 << 53) as f64,
            splitmix() / (1u64 << 53) as f64,
        );
        let first = ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32;
        assert_eq!(normal_samples(42, 1)[0], first);
    }

    #[test]
    fn streams_are_functions_of_their_seed() {
        let a: Vec<u64> = (0..4).map(|_| Rng::new(9).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(Rng::new(9).next_u64(), Rng::new(10).next_u64());
    }
}
