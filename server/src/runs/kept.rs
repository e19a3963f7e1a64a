//! What a run keeps of each image besides the image: whether a sample done
//! has it all (its agreement, its features), and its Inception features.

use super::dir::{write_atomic, RunDir, REAL, SYNTHESIZED};
use super::error::RunError;
use super::inception::{features_dir, Inception};
use super::manifest::SampleRecord;

/// Whether a sample done has what the run keeps of it: its agreement when
/// it is scored, its features when it keeps them.
pub(super) fn has_all<'a>(
    dir: &'a RunDir,
    scored: bool,
    graph: Option<&'a str>,
) -> impl Fn(&str, &SampleRecord) -> bool + 'a {
    move |stem, record| {
        let featured = graph.is_none_or(|graph| {
            let features = |kind: &str| {
                features_dir(&dir.root, graph, kind)
                    .join(format!("{stem}.npy"))
                    .is_file()
            };
            features(SYNTHESIZED) && (!record.has_real || features(REAL))
        });
        (!scored || record.agreement.is_some()) && featured
    }
}

/// Writes the Inception features of a sample's images (the photo's first).
pub(super) fn keep_features(
    dir: &RunDir,
    inception: &mut Inception,
    stem: &str,
    synthesized: Option<&image::RgbImage>,
    real: Option<&image::RgbImage>,
) -> Result<(), RunError> {
    for (kind, image) in [(REAL, real), (SYNTHESIZED, synthesized)] {
        let Some(image) = image else { continue };
        let features = inception
            .features(image)
            .map_err(|source| RunError::Features {
                stem: stem.to_string(),
                source,
            })?;
        let path = features_dir(&dir.root, &inception.name, kind).join(format!("{stem}.npy"));
        write_atomic(
            &path,
            &crate::package::npy::encode(&[features.len()], &features),
        )?;
    }
    Ok(())
}
