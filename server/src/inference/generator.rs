//! What a model does for its worker thread, behind a trait so that the
//! queue and HTTP layers can be tested with a fake in microseconds: its
//! card, examples and presets' pictures, what decides its images, and
//! images for a batch of works; a loaded package (`ModelSession`) is one.

use crate::inference::compute::Execution;
use crate::inference::pipeline::{self, SynthesisError, Work};
use crate::inference::runtime::{ModelSession, Output};
use crate::inference::segment::Segmenter;
use crate::package::{Example, ModelCard, Thumbnail};

/// What a model does, behind a trait so that the queue and HTTP layers can be
/// tested with a fake in microseconds.
pub trait Generator: Send + 'static {
    fn card(&self) -> &ModelCard;
    /// Example label maps to offer painters.
    fn examples(&self) -> Vec<Example> {
        Vec::new()
    }
    /// Pictures of the card's style presets.
    fn thumbnails(&self) -> Vec<Thumbnail> {
        Vec::new()
    }
    /// SHA-256 (hex) of what decides the model's images, read once when
    /// its worker starts. Packages digest their card and graphs; a model
    /// without files (a test's fake), its card.
    fn package_digest(&self) -> std::io::Result<String> {
        Ok(crate::package::sha256_hex(&serde_json::to_vec(
            self.card(),
        )?))
    }
    /// Where and in what arithmetic it runs.
    fn execution(&self) -> Execution {
        Execution::default()
    }
    /// Images for `works`, all of one size; (1, 3, H, W) each, in order.
    fn generate(&mut self, works: &[Work]) -> Result<Vec<Output>, SynthesisError>;
    /// The model's segmenter (photos into maps of its classes), when it has
    /// one; taken once, when its worker starts, to run on a thread of its own.
    fn take_segmenter(&mut self) -> Option<Box<dyn Segmenter>> {
        None
    }
}

impl Generator for Box<dyn Generator> {
    fn card(&self) -> &ModelCard {
        (**self).card()
    }
    fn take_segmenter(&mut self) -> Option<Box<dyn Segmenter>> {
        (**self).take_segmenter()
    }
    fn examples(&self) -> Vec<Example> {
        (**self).examples()
    }
    fn thumbnails(&self) -> Vec<Thumbnail> {
        (**self).thumbnails()
    }
    fn package_digest(&self) -> std::io::Result<String> {
        (**self).package_digest()
    }
    fn execution(&self) -> Execution {
        (**self).execution()
    }
    fn generate(&mut self, works: &[Work]) -> Result<Vec<Output>, SynthesisError> {
        (**self).generate(works)
    }
}

impl Generator for ModelSession {
    fn card(&self) -> &ModelCard {
        &self.package.card
    }

    fn examples(&self) -> Vec<Example> {
        self.package.examples()
    }

    fn thumbnails(&self) -> Vec<Thumbnail> {
        self.package.thumbnails()
    }

    fn package_digest(&self) -> std::io::Result<String> {
        self.package.digest()
    }

    fn execution(&self) -> Execution {
        ModelSession::execution(self).clone()
    }

    fn generate(&mut self, works: &[Work]) -> Result<Vec<Output>, SynthesisError> {
        pipeline::generate_batch(self, works)
    }

    fn take_segmenter(&mut self) -> Option<Box<dyn Segmenter>> {
        self.take_segmenter_session()
            .map(|s| Box::new(s) as Box<dyn Segmenter>)
    }
}
