//! `easel dataset convert`: RGB colour annotations to single-channel maps of
//! class indices, one pass per image through `colour_lookup`'s table, files
//! in parallel. Colours not in the palette are never silently class 0.

use std::collections::HashMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::colour_lookup::{
    shared_colours, ColourLookup, UnknownColour, UnknownColours, MAX_CLASSES,
};
use super::files::{self, file_name, some_names};
use super::workers::{self, WorkOptions};
use crate::atomic;
use crate::package::classes::{hex, ClassTable};
use crate::package::map_png::{encode_gray_png, Depth};
use crate::package::maps::DONTCARE_VALUE;

/// How many unknown colours a file's report names.
const LISTED_COLOURS: usize = 5;

#[derive(Debug, Clone)]
pub struct ConvertOptions {
    pub palette: ClassTable,
    /// Folder of RGB annotation PNGs.
    pub input: PathBuf,
    /// Folder for the index maps and classes.tsv.
    pub out: PathBuf,
    pub unknown: UnknownColours,
    /// Taken off each file's stem for the output name (CamVid's `_L`).
    pub strip_suffix: String,
    pub work: WorkOptions,
    /// Largest annotation accepted, in pixels.
    pub max_pixels: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error(
        "the palette {origin} has {classes} classes; a 16-bit map numbers at most {MAX_CLASSES}"
    )]
    TooManyClasses { origin: String, classes: usize },
    #[error(
        "--unknown dontcare writes 255, but the palette {origin} has {classes} classes, so 255 is \
         class {name}; use --unknown error or nearest, or add the missing colours to the palette"
    )]
    DontcareIsAClass {
        origin: String,
        classes: usize,
        name: String,
    },
    #[error("cannot read the annotation folder {dir}: {reason}")]
    ReadDir {
        dir: PathBuf,
        reason: std::io::Error,
    },
    #[error("{dir} holds no PNG annotations{hint}")]
    NoAnnotations { dir: PathBuf, hint: String },
    #[error("the output folder {0} is the annotation folder; write the maps to another folder so the annotations are kept")]
    OutIsInput(PathBuf),
    #[error("these annotations would write the same output file: {0}; rename them or change --strip-suffix")]
    NameClash(String),
    #[error("cannot write {path}: {reason}")]
    Write {
        path: PathBuf,
        reason: std::io::Error,
    },
}

/// Why one annotation could not be read or its map written; the run goes
/// on with the others.
#[derive(Debug, thiserror::Error)]
pub enum AnnotationError {
    #[error("cannot read it: {0}")]
    Read(#[source] std::io::Error),
    #[error("not a readable PNG: {0}")]
    Png(#[source] png::DecodingError),
    #[error("{width}×{height} is {pixels} pixels, over the limit of {max_pixels}")]
    TooLarge {
        width: u32,
        height: u32,
        pixels: u64,
        max_pixels: u64,
    },
    #[error(
        "a grayscale image, so probably class indices already; \
         convert reads colour annotations (RGB or paletted PNG)"
    )]
    Grayscale,
    #[error("unexpected PNG row layout")]
    RowLayout,
    #[error("cannot encode {file}: {source}")]
    Encode {
        file: String,
        source: png::EncodingError,
    },
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What became of one annotation file.
#[derive(Debug)]
pub struct FileOutcome {
    pub input: PathBuf,
    pub output: PathBuf,
    /// Whether the output was written.
    pub written: bool,
    /// Colours not in the palette, most pixels first.
    pub unknown: Vec<UnknownColour>,
    /// Why the file could not be read or written.
    pub failure: Option<AnnotationError>,
}

impl FileOutcome {
    /// One line on this file's unknown colours or failure; None when it
    /// converted cleanly.
    pub fn describe(&self, mode: UnknownColours, palette: &ClassTable) -> Option<String> {
        let name = file_name(&self.input);
        if let Some(failure) = &self.failure {
            return Some(format!("{name}: {failure}"));
        }
        if self.unknown.is_empty() {
            return None;
        }
        let pixels: usize = self.unknown.iter().map(|u| u.pixels).sum();
        let colours = self.unknown.len();
        let listed: Vec<String> = self
            .unknown
            .iter()
            .take(LISTED_COLOURS)
            .map(|u| {
                let target = u.nearest.map_or_else(String::new, |c| {
                    format!(" → {c} {}", palette.classes[c].name)
                });
                format!(
                    "{}{target} ×{} (first at x {}, y {})",
                    hex(u.rgb),
                    u.pixels,
                    u.first.0,
                    u.first.1
                )
            })
            .collect();
        let more = match colours.saturating_sub(LISTED_COLOURS) {
            0 => String::new(),
            n => format!(" and {n} more colours"),
        };
        let what = match mode {
            UnknownColours::Error => "not in the palette; nothing written",
            UnknownColours::Dontcare => "not in the palette, written as 255 (dontcare)",
            UnknownColours::Nearest => "not in the palette, written as the nearest class",
        };
        // Thousands of colours come from anti-aliasing or lossy compression.
        let hint = if colours > 1000 {
            "; so many colours suggest the annotation was saved with anti-aliasing or lossy compression"
        } else {
            ""
        };
        Some(format!(
            "{name}: {pixels} pixel{} in {colours} colour{} {what}: {}{more}{hint}",
            plural(pixels),
            plural(colours),
            listed.join(", ")
        ))
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[derive(Debug)]
pub struct ConvertReport {
    pub files: Vec<FileOutcome>,
    pub depth: Depth,
    pub classes_tsv: PathBuf,
    pub threads: usize,
    pub seconds: f64,
    /// Things worth knowing that are not per file (shared colours, skipped files).
    pub notes: Vec<String>,
}

impl ConvertReport {
    pub fn written(&self) -> usize {
        self.files.iter().filter(|f| f.written).count()
    }

    /// Files with nothing written: unknown colours under `error`, or unreadable.
    pub fn refused(&self) -> usize {
        self.files.len() - self.written()
    }
}

/// An annotation decoded to 8-bit RGB or RGBA: palette PNGs expanded, 16-bit
/// samples cut to their high byte (as the server reads colour maps).
struct ColourImage {
    width: usize,
    channels: usize,
    pixels: Vec<u8>,
}

fn decode_colours(bytes: &[u8], max_pixels: u64) -> Result<ColourImage, AnnotationError> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(AnnotationError::Png)?;
    let (width, height) = (reader.info().width, reader.info().height);
    let pixels = width as u64 * height as u64;
    if pixels > max_pixels {
        return Err(AnnotationError::TooLarge {
            width,
            height,
            pixels,
            max_pixels,
        });
    }
    let channels = match reader.output_color_type().0 {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        _ => return Err(AnnotationError::Grayscale),
    };
    let mut buf = vec![0u8; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buf).map_err(AnnotationError::Png)?;
    let row = width as usize * channels;
    if frame.line_size != row {
        return Err(AnnotationError::RowLayout);
    }
    buf.truncate(row * height as usize);
    Ok(ColourImage {
        width: width as usize,
        channels,
        pixels: buf,
    })
}

/// PNG annotations of `dir` in name order, and a note about image files of
/// other types that were left out.
fn annotations(dir: &Path) -> Result<(Vec<PathBuf>, Option<String>), ConvertError> {
    let entries = std::fs::read_dir(dir).map_err(|reason| ConvertError::ReadDir {
        dir: dir.to_owned(),
        reason,
    })?;
    let mut pngs = Vec::new();
    let mut others = Vec::new();
    for path in entries.flatten().map(|e| e.path()) {
        let name = file_name(&path);
        if name.starts_with('.') || !path.is_file() {
            continue;
        }
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
        {
            Some(e) if e == "png" => pngs.push(path),
            Some(e) if ["jpg", "jpeg", "bmp", "tif", "tiff", "webp"].contains(&e.as_str()) => {
                others.push(name)
            }
            _ => {}
        }
    }
    pngs.sort();
    others.sort();
    let note = (!others.is_empty()).then(|| {
        format!(
            "{} image file(s) that are not PNG were left out ({}); colour annotations must be \
             saved losslessly, as JPEG compression changes colours",
            others.len(),
            some_names(&others, 5)
        )
    });
    if pngs.is_empty() {
        return Err(ConvertError::NoAnnotations {
            dir: dir.to_owned(),
            hint: note.map_or_else(String::new, |n| format!(": {n}")),
        });
    }
    Ok((pngs, note))
}

fn check_palette(options: &ConvertOptions) -> Result<(), ConvertError> {
    let palette = &options.palette;
    let classes = palette.classes.len();
    if classes > MAX_CLASSES {
        return Err(ConvertError::TooManyClasses {
            origin: palette.source.clone(),
            classes,
        });
    }
    if options.unknown == UnknownColours::Dontcare && classes > DONTCARE_VALUE as usize {
        return Err(ConvertError::DontcareIsAClass {
            origin: palette.source.clone(),
            classes,
            name: palette.classes[DONTCARE_VALUE as usize].name.clone(),
        });
    }
    Ok(())
}

/// Output paths for `inputs`, refusing two inputs that would share one.
fn output_paths(
    inputs: &[PathBuf],
    options: &ConvertOptions,
) -> Result<Vec<PathBuf>, ConvertError> {
    let mut seen: HashMap<String, &Path> = HashMap::new();
    let mut clashes = Vec::new();
    let outputs = inputs
        .iter()
        .map(|input| {
            let stem = input
                .file_stem()
                .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
            let name = format!("{}.png", files::strip_suffix(&stem, &options.strip_suffix));
            if let Some(other) = seen.insert(name.clone(), input) {
                clashes.push(format!(
                    "{} and {} → {name}",
                    file_name(other),
                    file_name(input)
                ));
            }
            options.out.join(name)
        })
        .collect();
    if clashes.is_empty() {
        Ok(outputs)
    } else {
        Err(ConvertError::NameClash(some_names(&clashes, 5)))
    }
}

fn convert_file(
    input: &Path,
    output: &Path,
    lookup: &ColourLookup,
    depth: Depth,
    options: &ConvertOptions,
) -> FileOutcome {
    let mut outcome = FileOutcome {
        input: input.to_owned(),
        output: output.to_owned(),
        written: false,
        unknown: Vec::new(),
        failure: None,
    };
    let image = std::fs::read(input)
        .map_err(AnnotationError::Read)
        .and_then(|bytes| decode_colours(&bytes, options.max_pixels));
    let image = match image {
        Ok(image) => image,
        Err(reason) => {
            outcome.failure = Some(reason);
            return outcome;
        }
    };
    let (classes, unknown) =
        lookup.classify(&image.pixels, image.channels, image.width, options.unknown);
    outcome.unknown = unknown;
    if options.unknown == UnknownColours::Error && !outcome.unknown.is_empty() {
        return outcome;
    }
    let height = classes.len() / image.width.max(1);
    let written = encode_gray_png(image.width, height, &classes, depth)
        .map_err(|source| AnnotationError::Encode {
            file: file_name(output),
            source,
        })
        .and_then(|png| {
            atomic::write(output, &png).map_err(|source| AnnotationError::Write {
                path: output.to_owned(),
                source,
            })
        });
    match written {
        Ok(()) => outcome.written = true,
        Err(reason) => outcome.failure = Some(reason),
    }
    outcome
}

/// Converts every PNG annotation of `options.input` into `options.out`, and
/// writes the palette there as classes.tsv. Files that fail are in the
/// report, not an error: the caller decides what they mean.
pub fn convert(options: &ConvertOptions) -> Result<ConvertReport, ConvertError> {
    let started = Instant::now();
    check_palette(options)?;
    let (inputs, skipped) = annotations(&options.input)?;
    if files::is_within(&options.out, &options.input)
        && files::is_within(&options.input, &options.out)
    {
        return Err(ConvertError::OutIsInput(options.out.clone()));
    }
    let outputs = output_paths(&inputs, options)?;
    let write_err = |path: &Path| {
        let path = path.to_owned();
        move |reason| ConvertError::Write { path, reason }
    };
    std::fs::create_dir_all(&options.out).map_err(write_err(&options.out))?;
    let classes_tsv = options.out.join("classes.tsv");
    atomic::write(&classes_tsv, options.palette.to_tsv().as_bytes())
        .map_err(write_err(&classes_tsv))?;

    let classes = options.palette.classes.len();
    let depth = Depth::for_max(classes.saturating_sub(1) as u32);
    let lookup = ColourLookup::new(&options.palette);
    let jobs: Vec<(&PathBuf, &PathBuf)> = inputs.iter().zip(&outputs).collect();
    let files = workers::map_parallel(&jobs, options.work, |(input, output)| {
        convert_file(input, output, &lookup, depth, options)
    });
    let mut notes = shared_colours(&options.palette);
    notes.extend(skipped);
    Ok(ConvertReport {
        files,
        depth,
        classes_tsv,
        threads: workers::thread_count(options.work.threads, jobs.len()),
        seconds: started.elapsed().as_secs_f64(),
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::classes::ClassInfo;

    #[test]
    fn unknown_colours_are_described_with_counts_and_positions() {
        let table = ClassTable {
            source: "test".into(),
            classes: vec![ClassInfo {
                name: "c0".into(),
                color: "#ff0000".into(),
                coco_stuff: None,
            }],
        };
        let outcome = FileOutcome {
            input: "a_L.png".into(),
            output: "a.png".into(),
            written: false,
            unknown: vec![UnknownColour {
                rgb: [1, 2, 3],
                pixels: 12,
                first: (4, 5),
                nearest: None,
            }],
            failure: None,
        };
        let text = outcome.describe(UnknownColours::Error, &table).unwrap();
        assert_eq!(
            text,
            "a_L.png: 12 pixels in 1 colour not in the palette; nothing written: #010203 ×12 (first at x 4, y 5)"
        );
    }

    #[test]
    fn a_grayscale_or_oversized_annotation_is_refused_with_the_reason() {
        let png = encode_gray_png(2, 1, &[0, 1], Depth::Eight).unwrap();
        let e = decode_colours(&png, 100).err().unwrap();
        assert_eq!(
            e.to_string(),
            "a grayscale image, so probably class indices already; convert reads colour \
             annotations (RGB or paletted PNG)"
        );
        let e = decode_colours(&png, 1).err().unwrap();
        assert_eq!(e.to_string(), "2×1 is 2 pixels, over the limit of 1");
    }
}
