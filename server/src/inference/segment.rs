//! Photos into label maps. A photo is read (PNG, JPEG or WebP, within the
//! pixel limit, turned upright by its EXIF orientation), scaled to cover the
//! canvas and centre-cropped to it ([`prepare_photo`]); the package's
//! segmenter runs on a thread of its own, fed through a bounded queue
//! ([`SegmenterWorker`]). Nothing here knows about HTTP.

use std::io::Cursor;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};

use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageFormat, RgbImage};
use tokio::sync::oneshot;

use crate::inference::letterbox::{refine, Letterbox};
use crate::inference::runtime::{RuntimeError, SegmenterSession};
use crate::inference::style::rgb_to_chw;
use crate::package::card::{PhotoInput, RefineBy};
use crate::package::maps::LabelMap;

/// Why a photo got no map.
#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    /// Not a photo at all, or an image format that is not taken.
    #[error("the photo is {0}; send a PNG, JPEG or WebP photo")]
    NotAPhoto(String),
    /// A PNG, JPEG or WebP that cannot be decoded.
    #[error("the photo cannot be read as {format}: {reason}")]
    Unreadable { format: String, reason: String },
    #[error("the photo is {pixels} pixels ({width}×{height}), over the limit of {limit}")]
    PhotoTooLarge {
        width: u32,
        height: u32,
        pixels: u64,
        limit: u64,
    },
    #[error("the photo is {width}×{height} pixels: too small to read into a map; send one at least {MIN_PHOTO_SIDE} pixels on each side")]
    PhotoTooSmall { width: u32, height: u32 },
    #[error("a map of {width}×{height} is {pixels} pixels, over the limit of {limit}")]
    CanvasTooLarge {
        width: usize,
        height: usize,
        pixels: u64,
        limit: u64,
    },
    #[error("the map's width and height must be at least 1, not {width}×{height}")]
    EmptyCanvas { width: usize, height: usize },
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error("the segmenter gave {0}")]
    BadOutput(String),
    #[error("the segmenter of model {model} has {capacity} photos waiting; retry shortly")]
    Full { model: String, capacity: usize },
    #[error("the segmenter of model {0} has stopped")]
    Closed(String),
    /// No map in time, or the segmenter's thread stopped.
    #[error(transparent)]
    Late(#[from] super::deadline::Late),
}

/// The fewest pixels a photo may have on a side: a segmenter sees nothing
/// in less (a 1×1 "photo" is a colour, not a scene).
pub const MIN_PHOTO_SIDE: u32 = 16;

/// The size of the map a photo becomes, within the pixel limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Canvas {
    pub width: u32,
    pub height: u32,
}

impl Canvas {
    pub fn new(width: usize, height: usize, max_pixels: u64) -> Result<Self, SegmentError> {
        if width == 0 || height == 0 {
            return Err(SegmentError::EmptyCanvas { width, height });
        }
        let pixels = width as u64 * height as u64;
        if pixels > max_pixels {
            return Err(SegmentError::CanvasTooLarge {
                width,
                height,
                pixels,
                limit: max_pixels,
            });
        }
        // Within max_pixels, which no server sets past u32::MAX per side.
        Ok(Self {
            width: width.min(u32::MAX as usize) as u32,
            height: height.min(u32::MAX as usize) as u32,
        })
    }
}

/// A photo ready for the segmenter, and the size it came at.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedPhoto {
    /// At the canvas's size.
    pub image: RgbImage,
    /// (width, height) of the photo as sent, upright.
    pub source: (u32, u32),
}

/// Reads `bytes` as a photo within `max_pixels` and fits it to `canvas`.
/// Decoding is the expensive part: run it off async executors.
pub fn prepare_photo(
    bytes: &[u8],
    canvas: Canvas,
    max_pixels: u64,
) -> Result<FittedPhoto, SegmentError> {
    let photo = read_photo(bytes, max_pixels)?;
    let source = photo.dimensions();
    Ok(FittedPhoto {
        image: cover(&photo, canvas),
        source,
    })
}

/// The photo in `bytes`, upright, as RGB; its size is checked against
/// `max_pixels` from its header, before its pixels are decoded.
pub fn read_photo(bytes: &[u8], max_pixels: u64) -> Result<RgbImage, SegmentError> {
    let format = match image::guess_format(bytes) {
        Ok(f @ (ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP)) => f,
        Ok(other) => {
            let name = format!("{other:?}").to_uppercase();
            return Err(SegmentError::NotAPhoto(format!("a {name} image")));
        }
        Err(_) if bytes.is_empty() => return Err(SegmentError::NotAPhoto("empty".into())),
        Err(_) => return Err(SegmentError::NotAPhoto("not an image".into())),
    };
    let unreadable = |e: image::ImageError| SegmentError::Unreadable {
        format: format!("{format:?}").to_uppercase(),
        reason: e.to_string(),
    };
    let reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    let mut decoder = reader.into_decoder().map_err(unreadable)?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(SegmentError::Unreadable {
            format: format!("{format:?}").to_uppercase(),
            reason: format!("it is {width}×{height} pixels"),
        });
    }
    if width < MIN_PHOTO_SIDE || height < MIN_PHOTO_SIDE {
        return Err(SegmentError::PhotoTooSmall { width, height });
    }
    let pixels = u64::from(width) * u64::from(height);
    if pixels > max_pixels {
        return Err(SegmentError::PhotoTooLarge {
            width,
            height,
            pixels,
            limit: max_pixels,
        });
    }
    let orientation = decoder.orientation().map_err(unreadable)?;
    let mut photo = DynamicImage::from_decoder(decoder).map_err(unreadable)?;
    photo.apply_orientation(orientation);
    Ok(photo.to_rgb8())
}

/// The photo scaled to cover `canvas` and centre-cropped to it: the
/// largest centred region of the canvas's shape, resized (Catmull-Rom, the
/// trainer's bicubic) to the canvas's size.
pub fn cover(photo: &RgbImage, canvas: Canvas) -> RgbImage {
    let (pw, ph) = (u64::from(photo.width()), u64::from(photo.height()));
    let (cw, ch) = (u64::from(canvas.width), u64::from(canvas.height));
    // Wider than the canvas: all of its height; else all of its width.
    let (rw, rh) = if pw * ch > ph * cw {
        ((ph * cw + ch / 2) / ch, ph)
    } else {
        (pw, (pw * ch + cw / 2) / cw)
    };
    let (rw, rh) = (rw.clamp(1, pw) as u32, rh.clamp(1, ph) as u32);
    let (x, y) = ((photo.width() - rw) / 2, (photo.height() - rh) / 2);
    let region = image::imageops::crop_imm(photo, x, y, rw, rh).to_image();
    if (rw, rh) == (canvas.width, canvas.height) {
        return region;
    }
    image::imageops::resize(&region, canvas.width, canvas.height, FilterType::CatmullRom)
}

/// Which of a package's segmenters reads an image.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Reading {
    /// A photo becoming a map to paint on: the photo segmenter (refined by
    /// the package's own where the card says), else the package's own.
    #[default]
    Photo,
    /// A generated image read back to be scored or checked: the judge (the
    /// package's own segmenter, else the photo segmenter), so that scores
    /// stay comparable across releases.
    Judge,
}

/// What a segmenter does, behind a trait so that the HTTP layer can be
/// tested with a fake in microseconds.
pub trait Segmenter: Send + 'static {
    /// The map of `photo`, at its size, in the package's classes.
    fn segment(&mut self, photo: &RgbImage, reading: Reading) -> Result<LabelMap, SegmentError>;

    /// The graph that reads as `Reading::Judge`, by file and digest (runs
    /// record it beside their scores).
    fn judge(&self) -> String;
}

impl Segmenter for Box<dyn Segmenter> {
    fn segment(&mut self, photo: &RgbImage, reading: Reading) -> Result<LabelMap, SegmentError> {
        (**self).segment(photo, reading)
    }

    fn judge(&self) -> String {
        (**self).judge()
    }
}

impl Segmenter for SegmenterSession {
    fn segment(&mut self, photo: &RgbImage, reading: Reading) -> Result<LabelMap, SegmentError> {
        // Only what the reading needs, not the card's whole entry (its
        // mapping's pairs), for every photo.
        let contract = self
            .card
            .photo_segmenter
            .as_ref()
            .map(|c| (c.input.clone(), c.refine.clone()));
        let values = match (reading, contract) {
            (Reading::Photo, Some((input, rules))) => {
                let mut values = self.read_photo(photo, &input)?;
                if !rules.is_empty() {
                    let needs_own = rules.iter().any(|r| r.by == RefineBy::Segmenter);
                    let own = if needs_own {
                        self.read_own(photo)?
                    } else {
                        None
                    };
                    refine(&mut values, photo, own.as_deref(), &rules, &self.card);
                }
                values
            }
            (Reading::Judge, Some((input, _))) => match self.read_own(photo)? {
                Some(own) => own,
                None => self.read_photo(photo, &input)?,
            },
            (_, None) => self
                .read_own(photo)?
                .ok_or_else(|| SegmentError::BadOutput("the package names no segmenter".into()))?,
        };
        let (w, h) = (photo.width() as usize, photo.height() as usize);
        // The graphs' classes are checked like any map's, once, here.
        LabelMap::new(w, h, values, &self.card).map_err(|e| SegmentError::BadOutput(e.to_string()))
    }

    fn judge(&self) -> String {
        SegmenterSession::judge(self).to_string()
    }
}

impl SegmenterSession {
    /// The package's own segmenter on the photo at its size.
    fn read_own(&mut self, photo: &RgbImage) -> Result<Option<Vec<u32>>, SegmentError> {
        let (w, h) = (photo.width() as usize, photo.height() as usize);
        let pixels = rgb_to_chw(photo.as_raw(), h, w);
        let Some(answer) = self.own_classes([1, 3, h, w], &pixels) else {
            return Ok(None);
        };
        let (shape, classes) = answer?;
        if shape != [1, h, w] {
            return Err(SegmentError::BadOutput(format!(
                "a map of shape {shape:?} for a photo of {w}×{h}"
            )));
        }
        Ok(Some(to_values(&classes)))
    }

    /// The photo segmenter: the photo letterboxed into its fixed input,
    /// its map cropped to the photo's part and scaled back.
    fn read_photo(
        &mut self,
        photo: &RgbImage,
        input: &PhotoInput,
    ) -> Result<Vec<u32>, SegmentError> {
        let boxed = Letterbox::new(photo, input);
        let answer = self
            .photo_classes([1, 3, input.height, input.width], &boxed.pixels)
            .ok_or_else(|| {
                SegmentError::BadOutput("the package names no photo segmenter".into())
            })?;
        let (shape, classes) = answer?;
        if shape != [1, input.height, input.width] {
            return Err(SegmentError::BadOutput(format!(
                "a map of shape {shape:?} from a photo segmenter of {}×{}",
                input.width, input.height
            )));
        }
        Ok(boxed.unbox(&to_values(&classes), input.width))
    }
}

fn to_values(classes: &[i64]) -> Vec<u32> {
    classes
        .iter()
        .map(|&c| u32::try_from(c).unwrap_or(u32::MAX))
        .collect()
}

/// Where the map of one queued photo arrives.
pub type SegmentReply = oneshot::Receiver<Result<LabelMap, SegmentError>>;

struct Job {
    photo: RgbImage,
    reading: Reading,
    reply: oneshot::Sender<Result<LabelMap, SegmentError>>,
}

/// The handle callers hold: cheap to clone, sends photos to the thread that
/// owns the segmenter.
#[derive(Clone)]
pub struct SegmenterWorker {
    model: String,
    judge: String,
    sender: SyncSender<Job>,
    capacity: usize,
}

impl SegmenterWorker {
    /// Starts the thread that owns `segmenter`; at most `capacity` photos wait.
    pub fn spawn(
        segmenter: impl Segmenter,
        model: &str,
        capacity: usize,
    ) -> std::io::Result<(Self, std::thread::JoinHandle<()>)> {
        let capacity = capacity.max(1);
        let (sender, receiver) = mpsc::sync_channel(capacity);
        let name = model.to_string();
        let judge = segmenter.judge();
        let handle = std::thread::Builder::new()
            .name(format!("segmenter-{model}"))
            .spawn(move || run(segmenter, receiver, &name))?;
        let worker = Self {
            model: model.to_string(),
            judge,
            sender,
            capacity,
        };
        Ok((worker, handle))
    }

    /// The graph its judge readings come from.
    pub fn judge(&self) -> &str {
        &self.judge
    }

    /// Queues a photo already fitted to its canvas; fails at once when the
    /// queue is full.
    pub fn submit(&self, photo: RgbImage, reading: Reading) -> Result<SegmentReply, SegmentError> {
        let (reply, receiver) = oneshot::channel();
        self.sender
            .try_send(Job {
                photo,
                reading,
                reply,
            })
            .map_err(|e| match e {
                TrySendError::Full(_) => SegmentError::Full {
                    model: self.model.clone(),
                    capacity: self.capacity,
                },
                TrySendError::Disconnected(_) => SegmentError::Closed(self.model.clone()),
            })?;
        Ok(receiver)
    }
}

/// The segmenter's loop: until every sender is gone.
fn run(mut segmenter: impl Segmenter, receiver: Receiver<Job>, model: &str) {
    for job in receiver {
        // A client that has gone gets no map.
        if job.reply.is_closed() {
            continue;
        }
        let result = segmenter.segment(&job.photo, job.reading);
        if let Err(e) = &result {
            tracing::error!(model, error = %e, "segmentation failed");
        }
        let _ = job.reply.send(result);
    }
    tracing::info!(model, "segmenter stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(image: &RgbImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    /// Columns coloured by their x: red = 10·x.
    fn columns(width: u32, height: u32) -> RgbImage {
        RgbImage::from_fn(width, height, |x, _| image::Rgb([10 * x as u8, 0, 0]))
    }

    fn canvas(width: usize, height: usize) -> Canvas {
        Canvas::new(width, height, 1 << 20).unwrap()
    }

    #[test]
    fn a_wide_photo_keeps_its_middle() {
        let fitted = cover(&columns(8, 4), canvas(4, 4));
        assert_eq!(fitted.dimensions(), (4, 4));
        let reds: Vec<u8> = (0..4).map(|x| fitted.get_pixel(x, 0)[0]).collect();
        assert_eq!(reds, [20, 30, 40, 50], "columns 2 to 5 of 8, as they were");
    }

    #[test]
    fn a_photo_is_scaled_to_cover_the_canvas() {
        let fitted = cover(&columns(4, 8), canvas(8, 8));
        assert_eq!(fitted.dimensions(), (8, 8));
        // The middle 4×4 of a 4×8 photo, doubled: the red still rises left to right.
        let first = fitted.get_pixel(0, 4)[0];
        let last = fitted.get_pixel(7, 4)[0];
        assert!(first < 10 && last > 20, "{first} … {last}");
    }

    #[test]
    fn photos_are_read_in_png_jpeg_and_webp() {
        let photo = columns(24, 16);
        for format in [ImageFormat::Png, ImageFormat::Jpeg, ImageFormat::WebP] {
            let read = read_photo(&encode(&photo, format), 1 << 20).unwrap();
            assert_eq!(read.dimensions(), (24, 16), "{format:?}");
        }
    }

    #[test]
    fn a_photo_under_16_pixels_a_side_is_refused() {
        let e = read_photo(&encode(&columns(24, 15), ImageFormat::Png), 1 << 20).unwrap_err();
        assert!(
            matches!(
                e,
                SegmentError::PhotoTooSmall {
                    width: 24,
                    height: 15
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("at least 16 pixels"), "{e}");
    }

    #[test]
    fn what_is_not_a_photo_is_refused_for_what_it_is() {
        let e = read_photo(b"GIF89a\x01\x00\x01\x00", 1 << 20).unwrap_err();
        assert!(matches!(e, SegmentError::NotAPhoto(_)), "{e}");
        assert!(e.to_string().contains("GIF"), "{e}");
        let e = read_photo(b"label,class\n1,sky\n", 1 << 20).unwrap_err();
        assert!(e.to_string().contains("not an image"), "{e}");
        let png = encode(&columns(24, 16), ImageFormat::Png);
        let e = read_photo(&png[..png.len() / 2], 1 << 20).unwrap_err();
        assert!(matches!(e, SegmentError::Unreadable { .. }), "{e}");
    }

    #[test]
    fn a_photo_past_the_pixel_limit_is_refused_before_it_is_decoded() {
        let png = encode(&columns(24, 16), ImageFormat::Png);
        let e = read_photo(&png, 383).unwrap_err();
        assert!(
            matches!(e, SegmentError::PhotoTooLarge { pixels: 384, .. }),
            "{e}"
        );
        assert!(matches!(
            Canvas::new(5, 4, 19),
            Err(SegmentError::CanvasTooLarge { .. })
        ));
        assert!(matches!(
            Canvas::new(0, 4, 19),
            Err(SegmentError::EmptyCanvas { .. })
        ));
    }

    struct Stripes;

    impl Segmenter for Stripes {
        fn segment(&mut self, photo: &RgbImage, _: Reading) -> Result<LabelMap, SegmentError> {
            let json = include_str!("../../tests/fixtures/fake_card.json");
            let card: crate::package::ModelCard = serde_json::from_str(json).unwrap();
            let (w, h) = photo.dimensions();
            let values = (0..w * h).map(|i| (i % w) % 3).collect();
            Ok(LabelMap::new(w as usize, h as usize, values, &card).unwrap())
        }

        fn judge(&self) -> String {
            "stripes".into()
        }
    }

    #[test]
    fn the_worker_answers_each_photo_with_its_map() {
        let (worker, _) = SegmenterWorker::spawn(Stripes, "fake", 2).unwrap();
        let map = worker
            .submit(columns(4, 2), Reading::Photo)
            .unwrap()
            .blocking_recv()
            .unwrap()
            .unwrap();
        assert_eq!((map.width(), map.height()), (4, 2));
        assert_eq!(map.labels()[..4], [0, 1, 2, 0]);
    }
}
