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

use crate::inference::runtime::{RuntimeError, SegmenterSession};
use crate::inference::style::rgb_to_chw;
use crate::package::card::{PhotoInput, RefineBy, Refinement};
use crate::package::maps::LabelMap;
use crate::package::ModelCard;

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
        let contract = self.card.photo_segmenter.clone();
        let values = match (reading, contract) {
            (Reading::Photo, Some(contract)) => {
                let mut values = self.read_photo(photo, &contract.input)?;
                if !contract.refine.is_empty() {
                    let needs_own = contract.refine.iter().any(|r| r.by == RefineBy::Segmenter);
                    let own = if needs_own {
                        self.read_own(photo)?
                    } else {
                        None
                    };
                    refine(
                        &mut values,
                        photo,
                        own.as_deref(),
                        &contract.refine,
                        &self.card,
                    );
                }
                values
            }
            (Reading::Judge, Some(contract)) => match self.read_own(photo)? {
                Some(own) => own,
                None => self.read_photo(photo, &contract.input)?,
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

/// A photo scaled to fit a segmenter's fixed input without distortion and
/// padded at the bottom and right with the middle grey (DeepLab's
/// evaluation pads so, with its mean pixel), and how to undo it.
pub struct Letterbox {
    /// (3, H, W) in the input's range.
    pub pixels: Vec<f32>,
    /// The photo's part of the input, (width, height).
    pub inside: (usize, usize),
    /// The photo's size.
    pub photo: (usize, usize),
}

impl Letterbox {
    pub fn new(photo: &RgbImage, input: &PhotoInput) -> Self {
        let (pw, ph) = (photo.width() as usize, photo.height() as usize);
        let scale = (input.width as f64 / pw as f64).min(input.height as f64 / ph as f64);
        let inside = (
            ((pw as f64 * scale).round() as usize).clamp(1, input.width),
            ((ph as f64 * scale).round() as usize).clamp(1, input.height),
        );
        let resized = if inside == (pw, ph) {
            photo.clone()
        } else {
            image::imageops::resize(
                photo,
                inside.0 as u32,
                inside.1 as u32,
                FilterType::Triangle,
            )
        };
        let [lo, hi] = input.range;
        let grey = (lo + hi) / 2.0;
        let plane = input.width * input.height;
        let mut pixels = vec![grey; 3 * plane];
        for (x, y, p) in resized.enumerate_pixels() {
            let at = y as usize * input.width + x as usize;
            for c in 0..3 {
                pixels[c * plane + at] = lo + (hi - lo) * f32::from(p[c]) / 255.0;
            }
        }
        Self {
            pixels,
            inside,
            photo: (pw, ph),
        }
    }

    /// A map of the whole input (`width` wide) back at the photo's size:
    /// the photo's part, scaled by nearest neighbour.
    pub fn unbox(&self, map: &[u32], width: usize) -> Vec<u32> {
        let (pw, ph) = self.photo;
        let (iw, ih) = self.inside;
        let mut out = Vec::with_capacity(pw * ph);
        for y in 0..ph {
            let sy = ((y * 2 + 1) * ih / (ph * 2)).min(ih - 1);
            for x in 0..pw {
                let sx = ((x * 2 + 1) * iw / (pw * 2)).min(iw - 1);
                out.push(map[sy * width + sx]);
            }
        }
        out
    }
}

/// Bright and nearly grey: the colour of clouds and snow (value at least
/// 0.7, saturation at most 0.15, on 0..1).
pub fn is_white(p: &image::Rgb<u8>) -> bool {
    let max = p.0.iter().copied().max().unwrap_or(0);
    let min = p.0.iter().copied().min().unwrap_or(0);
    max >= 179 && u32::from(max - min) * 100 <= 15 * u32::from(max)
}

/// The card's refinements (`Refinement`), one after another, each on the
/// classes the earlier ones left. Rules by the package's own segmenter are
/// skipped when it gave no map (`own`).
fn refine(
    values: &mut [u32],
    photo: &RgbImage,
    own: Option<&[u32]>,
    rules: &[Refinement],
    card: &ModelCard,
) {
    let index = |names: &[String]| -> Vec<u32> {
        names
            .iter()
            .filter_map(|n| card.classes.iter().position(|c| &c.name == n))
            .map(|i| i as u32)
            .collect()
    };
    let rules: Vec<(Vec<u32>, Vec<u32>, RefineBy)> = rules
        .iter()
        .map(|r| (index(&r.within), index(&r.take), r.by))
        .collect();
    let white = rules
        .iter()
        .any(|(.., by)| *by == RefineBy::White)
        .then(|| white_regions(photo));
    for (i, value) in values.iter_mut().enumerate() {
        for (within, take, by) in &rules {
            if !within.contains(value) {
                continue;
            }
            match by {
                RefineBy::Segmenter => {
                    if let Some(theirs) = own.map(|o| o[i]).filter(|t| take.contains(t)) {
                        *value = theirs;
                    }
                }
                RefineBy::White => {
                    let is = white.as_ref().is_some_and(|w| w[i]);
                    if let (true, Some(&first)) = (is, take.first()) {
                        *value = first;
                    }
                }
            }
        }
    }
}

/// Which pixels lie in white regions: white (`is_white`) pixels, kept or
/// dropped by the majority of their 5×5 neighbourhood, so that a hazy sky's
/// scattered light pixels do not speckle it with clouds.
fn white_regions(photo: &RgbImage) -> Vec<bool> {
    let (w, h) = (photo.width() as usize, photo.height() as usize);
    // Summed-area table of the white pixels, one row and column of zeros first.
    let mut sums = vec![0u32; (w + 1) * (h + 1)];
    for (y, row) in photo.rows().enumerate() {
        let mut run = 0;
        for (x, p) in row.enumerate() {
            run += u32::from(is_white(p));
            sums[(y + 1) * (w + 1) + x + 1] = sums[y * (w + 1) + x + 1] + run;
        }
    }
    let mut out = Vec::with_capacity(w * h);
    for y in 0..h {
        let (y0, y1) = (y.saturating_sub(2), (y + 3).min(h));
        for x in 0..w {
            let (x0, x1) = (x.saturating_sub(2), (x + 3).min(w));
            let at = |yy: usize, xx: usize| sums[yy * (w + 1) + xx];
            let count = at(y1, x1) + at(y0, x0) - at(y0, x1) - at(y1, x0);
            let area = ((y1 - y0) * (x1 - x0)) as u32;
            out.push(2 * count > area);
        }
    }
    out
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

    fn input(width: usize, height: usize) -> PhotoInput {
        PhotoInput {
            width,
            height,
            range: [-1.0, 1.0],
        }
    }

    #[test]
    fn a_panorama_is_letterboxed_at_the_top_and_its_map_scaled_back_to_its_size() {
        // 2:1 into 8×8: the photo fills the top 8×4, mid grey below.
        let photo = RgbImage::from_fn(32, 16, |_, _| image::Rgb([255, 255, 255]));
        let boxed = Letterbox::new(&photo, &input(8, 8));
        assert_eq!(boxed.inside, (8, 4));
        assert_eq!(boxed.pixels[0], 1.0, "white is the top of the range");
        assert_eq!(boxed.pixels[5 * 8], 0.0, "the padding is mid grey");
        // A map whose rows are numbered: the photo's 16 rows come from rows 0..4.
        let map: Vec<u32> = (0..64).map(|i| i / 8).collect();
        let back = boxed.unbox(&map, 8);
        assert_eq!(back.len(), 32 * 16);
        let rows: Vec<u32> = (0..16).map(|y| back[y * 32]).collect();
        assert_eq!(rows, [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);
    }

    #[test]
    fn a_portrait_is_letterboxed_at_the_left() {
        let photo = RgbImage::from_fn(16, 32, |_, _| image::Rgb([0, 0, 0]));
        let boxed = Letterbox::new(&photo, &input(8, 8));
        assert_eq!(boxed.inside, (4, 8));
        assert_eq!((boxed.pixels[0], boxed.pixels[5]), (-1.0, 0.0));
        let map: Vec<u32> = (0..64).map(|i| i % 8).collect();
        let back = boxed.unbox(&map, 8);
        assert_eq!(back.len(), 16 * 32);
        assert!(
            back.iter().all(|&c| c < 4),
            "only the photo's columns come back"
        );
    }

    #[test]
    fn white_regions_drop_lone_white_pixels_and_keep_white_areas() {
        // A blue frame with one white pixel and a white 6×6 block.
        let mut photo = RgbImage::from_pixel(20, 12, image::Rgb([90, 140, 230]));
        photo.put_pixel(3, 3, image::Rgb([250, 250, 250]));
        for y in 4..10 {
            for x in 10..16 {
                photo.put_pixel(x, y, image::Rgb([235, 238, 245]));
            }
        }
        let white = white_regions(&photo);
        assert!(!white[3 * 20 + 3], "a lone white pixel is not a cloud");
        assert!(white[6 * 20 + 12] && white[7 * 20 + 13], "the block is");
        assert!(!white[20], "the blue is not");
    }

    #[test]
    fn white_is_bright_and_nearly_grey() {
        assert!(is_white(&image::Rgb([240, 242, 250])));
        assert!(is_white(&image::Rgb([190, 190, 195])));
        assert!(!is_white(&image::Rgb([120, 170, 235])), "blue sky");
        assert!(!is_white(&image::Rgb([230, 210, 140])), "sand");
        assert!(!is_white(&image::Rgb([100, 100, 100])), "dark grey rock");
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
