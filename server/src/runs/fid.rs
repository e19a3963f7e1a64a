//! FID and KID of a run's synthesized images against its real photos, from
//! the feature vectors the Inception graph (`inception`) gave each image,
//! kept with the run as `features/<graph>/<kind>/<stem>.npy`, so that shards
//! and resumes merge exactly: the figures are computed from every vector on
//! disk.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::inception::features_dir;

/// Why FID and KID cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum FidError {
    #[error("{0} feature vectors: at least 2 are needed")]
    TooFew(usize),
    #[error("feature vectors of different lengths")]
    Uneven,
    #[error("KID needs subsets of at least 2 vectors from each side: {real} real, {synthesized} synthesized, subsets of {subset}")]
    KidSubsets {
        real: usize,
        synthesized: usize,
        subset: usize,
    },
    #[error(transparent)]
    Features(#[from] crate::package::npy::NpyError),
    #[error("the features in {0} are of different lengths (another --inception graph?); remove the folder to compute them again")]
    Mixed(String),
}

/// Mean and covariance (unbiased, as numpy's `np.cov`) of feature vectors.
#[derive(Debug, Clone)]
pub struct Moments {
    pub n: usize,
    pub mean: Vec<f64>,
    /// d×d, row-major.
    pub cov: Vec<f64>,
}

impl Moments {
    pub fn of(features: &[Vec<f32>]) -> Result<Self, FidError> {
        let n = features.len();
        let d = features.first().map_or(0, Vec::len);
        if n < 2 || d == 0 {
            return Err(FidError::TooFew(n));
        }
        if features.iter().any(|f| f.len() != d) {
            return Err(FidError::Uneven);
        }
        let mut mean = vec![0f64; d];
        for f in features {
            for (m, &v) in mean.iter_mut().zip(f) {
                *m += v as f64;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let mut cov = vec![0f64; d * d];
        let mut centred = vec![0f64; d];
        for f in features {
            for (c, (&v, m)) in centred.iter_mut().zip(f.iter().zip(&mean)) {
                *c = v as f64 - m;
            }
            for i in 0..d {
                let ci = centred[i];
                for j in i..d {
                    cov[i * d + j] += ci * centred[j];
                }
            }
        }
        for i in 0..d {
            for j in i..d {
                let v = cov[i * d + j] / (n - 1) as f64;
                cov[i * d + j] = v;
                cov[j * d + i] = v;
            }
        }
        Ok(Self { n, mean, cov })
    }
}

/// The Fréchet distance of two Gaussians: |μ₁ − μ₂|² + Tr(Σ₁ + Σ₂ −
/// 2 (Σ₁Σ₂)^½), with Tr (Σ₁Σ₂)^½ = Σ √λ over the eigenvalues λ of
/// Σ₁^½ Σ₂ Σ₁^½ (symmetric, so the same as those of Σ₁Σ₂).
pub fn frechet_distance(a: &Moments, b: &Moments) -> f64 {
    let d = a.mean.len();
    let mean_term: f64 = a
        .mean
        .iter()
        .zip(&b.mean)
        .map(|(x, y)| (x - y) * (x - y))
        .sum();
    let trace = |m: &[f64]| (0..d).map(|i| m[i * d + i]).sum::<f64>();
    let sa = nalgebra::DMatrix::from_row_slice(d, d, &a.cov);
    let sb = nalgebra::DMatrix::from_row_slice(d, d, &b.cov);
    let root_a = symmetric_sqrt(&sa);
    let middle = &root_a * sb * &root_a;
    let middle = (&middle + middle.transpose()) * 0.5;
    let cross: f64 = nalgebra::SymmetricEigen::new(middle)
        .eigenvalues
        .iter()
        .map(|&l| l.max(0.0).sqrt())
        .sum();
    mean_term + trace(&a.cov) + trace(&b.cov) - 2.0 * cross
}

/// The square root of a symmetric positive semi-definite matrix (negative
/// eigenvalues from rounding read as 0).
fn symmetric_sqrt(m: &nalgebra::DMatrix<f64>) -> nalgebra::DMatrix<f64> {
    let eigen = nalgebra::SymmetricEigen::new(m.clone());
    let roots = eigen.eigenvalues.map(|l| l.max(0.0).sqrt());
    &eigen.eigenvectors * nalgebra::DMatrix::from_diagonal(&roots) * eigen.eigenvectors.transpose()
}

/// KID's settings: subsets of `subset_size` vectors from each side, drawn
/// without replacement by a generator seeded with `seed`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KidSubsets {
    pub subsets: usize,
    pub subset_size: usize,
    pub seed: u64,
}

impl KidSubsets {
    /// The common choice (100 subsets of 1000, as torch-fidelity), cut to
    /// what the run has; one subset when it is all of both sides.
    pub fn for_sizes(real: usize, fake: usize) -> Self {
        let subset_size = real.min(fake).min(1000);
        let subsets = if subset_size == real && subset_size == fake {
            1
        } else {
            100
        };
        Self {
            subsets,
            subset_size,
            seed: 0,
        }
    }
}

/// KID: the unbiased MMD² with the polynomial kernel (x·y/d + 1)³, mean and
/// standard deviation over the subsets.
pub fn kid(
    real: &[Vec<f32>],
    fake: &[Vec<f32>],
    subsets: KidSubsets,
) -> Result<(f64, f64), FidError> {
    let m = subsets.subset_size;
    if m < 2 || m > real.len() || m > fake.len() {
        return Err(FidError::KidSubsets {
            real: real.len(),
            synthesized: fake.len(),
            subset: m,
        });
    }
    let d = real[0].len();
    // A subset as an m×d matrix; the kernel matrix of two is one product.
    let matrix = |rows: &[usize], side: &[Vec<f32>]| {
        nalgebra::DMatrix::from_fn(rows.len(), d, |i, j| side[rows[i]][j] as f64)
    };
    let kernel = |a: &nalgebra::DMatrix<f64>, b: &nalgebra::DMatrix<f64>| {
        (a * b.transpose()).map(|dot| (dot / d as f64 + 1.0).powi(3))
    };
    let off_diagonal = |k: &nalgebra::DMatrix<f64>| (k.sum() - k.trace()) / (m * (m - 1)) as f64;
    let mut random = crate::random::Rng::new(subsets.seed);
    let mut values = Vec::with_capacity(subsets.subsets);
    for _ in 0..subsets.subsets {
        let x = matrix(&sample(&mut random, real.len(), m), real);
        let y = matrix(&sample(&mut random, fake.len(), m), fake);
        let across = kernel(&x, &y).sum() / (m * m) as f64;
        values.push(off_diagonal(&kernel(&x, &x)) + off_diagonal(&kernel(&y, &y)) - 2.0 * across);
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / values.len() as f64;
    Ok((mean, var.sqrt()))
}

/// `m` distinct indices below `n`, in the order drawn (a partial
/// Fisher–Yates shuffle); all of 0..n in order when m = n.
pub fn sample(random: &mut crate::random::Rng, n: usize, m: usize) -> Vec<usize> {
    if m >= n {
        return (0..n).collect();
    }
    let mut all: Vec<usize> = (0..n).collect();
    for i in 0..m {
        let j = i + (random.next_u64() % (n - i) as u64) as usize;
        all.swap(i, j);
    }
    all.truncate(m);
    all
}

/// FID and KID of a run, as `run.json` keeps them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Fidelity {
    /// The feature graph's file.
    pub inception: String,
    pub dim: usize,
    pub real_images: usize,
    pub synthesized_images: usize,
    pub fid: f64,
    pub kid: f64,
    pub kid_std: f64,
    pub kid_subsets: KidSubsets,
}

/// FID and KID from the features `inception` gave in `root`: those of the
/// real photos and those of the synthesized images of `stems` (each side
/// as many as have features; the counts are in the answer); None when
/// fewer than 2 of either are there.
pub fn fidelity(
    root: &Path,
    stems: &[String],
    inception: &str,
) -> Result<Option<Fidelity>, FidError> {
    let read = |kind: &str| -> Result<Vec<Vec<f32>>, FidError> {
        let dir = features_dir(root, inception, kind);
        let mut out = Vec::new();
        for stem in stems {
            let path = dir.join(format!("{stem}.npy"));
            if !path.is_file() {
                continue;
            }
            let array = crate::package::npy::read(&path)?;
            out.push(array.data);
        }
        Ok(out)
    };
    let (real, fake) = (read(super::REAL)?, read(super::SYNTHESIZED)?);
    if real.len() < 2 || fake.len() < 2 {
        return Ok(None);
    }
    let dim = fake[0].len();
    if real.iter().chain(&fake).any(|f| f.len() != dim) {
        return Err(FidError::Mixed(root.join("features").display().to_string()));
    }
    let subsets = KidSubsets::for_sizes(real.len(), fake.len());
    let (kid, kid_std) = kid(&real, &fake, subsets)?;
    Ok(Some(Fidelity {
        inception: inception.to_string(),
        dim,
        real_images: real.len(),
        synthesized_images: fake.len(),
        fid: frechet_distance(&Moments::of(&real)?, &Moments::of(&fake)?),
        kid,
        kid_std,
        kid_subsets: subsets,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_frechet_distance_of_gaussians_is_its_closed_form() {
        // Diagonal covariances: Σ (√a − √b)² on the diagonal, plus |Δμ|².
        let a = Moments {
            n: 10,
            mean: vec![0.0, 1.0],
            cov: vec![4.0, 0.0, 0.0, 9.0],
        };
        let b = Moments {
            n: 10,
            mean: vec![1.0, 1.0],
            cov: vec![1.0, 0.0, 0.0, 16.0],
        };
        let expected = 1.0 + (2.0f64 - 1.0).powi(2) + (3.0f64 - 4.0).powi(2);
        assert!((frechet_distance(&a, &b) - expected).abs() < 1e-12);
        assert!(frechet_distance(&a, &a).abs() < 1e-12);
        // A rotated covariance against itself is still at distance 0.
        let c = Moments {
            n: 10,
            mean: vec![0.5, -2.0],
            cov: vec![2.0, 0.8, 0.8, 1.0],
        };
        assert!(frechet_distance(&c, &c).abs() < 1e-12);
    }

    #[test]
    fn moments_are_numpys_mean_and_unbiased_covariance() {
        let f = vec![vec![1.0, 2.0], vec![3.0, 2.0], vec![5.0, 8.0]];
        let m = Moments::of(&f).unwrap();
        assert_eq!(m.mean, vec![3.0, 4.0]);
        // np.cov([[1,3,5],[2,2,8]]) = [[4, 6], [6, 12]]
        assert_eq!(m.cov, vec![4.0, 6.0, 6.0, 12.0]);
        assert!(Moments::of(&f[..1]).is_err());
    }

    #[test]
    fn kid_is_near_zero_for_one_distribution_and_its_subsets_follow_the_seed() {
        let draw = |phase: f32| -> Vec<Vec<f32>> {
            (0..40)
                .map(|i| {
                    let t = i as f32 + phase;
                    vec![(t * 0.37).sin(), (t * 0.11).cos(), (t * 0.73).sin() * 0.5]
                })
                .collect()
        };
        let (features, other) = (draw(0.0), draw(0.5));
        let shifted: Vec<Vec<f32>> = features
            .iter()
            .map(|f| f.iter().map(|v| v + 0.5).collect())
            .collect();
        let all = KidSubsets::for_sizes(40, 40);
        assert_eq!((all.subsets, all.subset_size), (1, 40));
        let (same, _) = kid(&features, &other, all).unwrap();
        let (apart, _) = kid(&features, &shifted, all).unwrap();
        assert!(apart > 10.0 * same.abs(), "{same} {apart}");
        let some = KidSubsets {
            subsets: 10,
            subset_size: 20,
            seed: 7,
        };
        assert_eq!(
            kid(&features, &shifted, some).unwrap(),
            kid(&features, &shifted, some).unwrap()
        );
        assert_ne!(
            kid(&features, &shifted, some).unwrap(),
            kid(&features, &shifted, KidSubsets { seed: 8, ..some }).unwrap()
        );
        let mut random = crate::random::Rng::new(1);
        let drawn = sample(&mut random, 10, 6);
        let mut sorted = drawn.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 6, "{drawn:?}");
    }
}
