//! Colours to classes, as `convert` reads annotations: a table from every
//! 24-bit colour to its class (the first class wins a shared colour), and
//! what becomes of colours not in the palette (`--unknown`).

use std::collections::HashMap;
use std::str::FromStr;

use crate::package::classes::ClassTable;
use crate::package::maps::DONTCARE_VALUE;

/// The most classes a 16-bit map can number (one value is kept free to
/// mark "not in the palette" in the lookup table).
pub const MAX_CLASSES: usize = u16::MAX as usize;

/// What to do with a pixel whose colour is not in the palette.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownColours {
    /// Report the file and write nothing for it.
    Error,
    /// Write 255, the reference's dontcare label.
    Dontcare,
    /// Write the class with the closest colour (squared RGB distance).
    Nearest,
}

/// An `--unknown` that is none of the three.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}`: choose error, dontcare or nearest")]
pub struct UnknownColoursChoice(pub String);

impl FromStr for UnknownColours {
    type Err = UnknownColoursChoice;
    fn from_str(s: &str) -> Result<Self, UnknownColoursChoice> {
        match s {
            "error" => Ok(Self::Error),
            "dontcare" => Ok(Self::Dontcare),
            "nearest" => Ok(Self::Nearest),
            _ => Err(UnknownColoursChoice(s.to_string())),
        }
    }
}

/// A colour not in the palette, as found in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownColour {
    pub rgb: [u8; 3],
    pub pixels: usize,
    /// The first pixel with this colour, (x, y).
    pub first: (usize, usize),
    /// The class written for it under `--unknown nearest`.
    pub nearest: Option<usize>,
}

/// Colour → class index for every 24-bit colour, so that a pixel costs one
/// load; the first class with a colour wins when classes share one.
pub struct ColourLookup {
    table: Vec<u16>,
    colours: Vec<[u8; 3]>,
}

const NOT_IN_PALETTE: u16 = u16::MAX;

fn key(rgb: [u8; 3]) -> u32 {
    (rgb[0] as u32) << 16 | (rgb[1] as u32) << 8 | rgb[2] as u32
}

impl ColourLookup {
    /// Needs at most [`MAX_CLASSES`] classes.
    pub fn new(palette: &ClassTable) -> Self {
        let colours: Vec<[u8; 3]> = palette.classes.iter().map(|c| c.rgb()).collect();
        let mut table = vec![NOT_IN_PALETTE; 1 << 24];
        for (i, &c) in colours.iter().enumerate().rev() {
            table[key(c) as usize] = i as u16;
        }
        Self { table, colours }
    }

    fn nearest(&self, rgb: [u8; 3]) -> usize {
        let dist =
            |c: &[u8; 3]| -> i32 { (0..3).map(|k| (rgb[k] as i32 - c[k] as i32).pow(2)).sum() };
        (0..self.colours.len())
            .min_by_key(|&i| dist(&self.colours[i]))
            .unwrap_or(0)
    }

    /// Class indices for `rgb` (3 or 4 bytes a pixel, alpha ignored), and the
    /// colours not in the palette with what was written for them.
    pub fn classify(
        &self,
        rgb: &[u8],
        channels: usize,
        width: usize,
        mode: UnknownColours,
    ) -> (Vec<u16>, Vec<UnknownColour>) {
        let mut out = Vec::with_capacity(rgb.len() / channels);
        let mut unknown: Vec<UnknownColour> = Vec::new();
        let mut unknown_slot: HashMap<u32, usize> = HashMap::new();
        // Annotations are long runs of one colour: look up only changes.
        let (mut last_key, mut last_value, mut last_unknown) = (u32::MAX, 0u16, None);
        for (i, px) in rgb.chunks_exact(channels).enumerate() {
            let k = key([px[0], px[1], px[2]]);
            if k != last_key {
                last_key = k;
                (last_value, last_unknown) = match self.table[k as usize] {
                    NOT_IN_PALETTE => {
                        let slot = *unknown_slot.entry(k).or_insert_with(|| {
                            let colour = [px[0], px[1], px[2]];
                            unknown.push(UnknownColour {
                                rgb: colour,
                                pixels: 0,
                                first: (i % width, i / width),
                                nearest: (mode == UnknownColours::Nearest)
                                    .then(|| self.nearest(colour)),
                            });
                            unknown.len() - 1
                        });
                        let value = match (mode, unknown[slot].nearest) {
                            (_, Some(class)) => class as u16,
                            (UnknownColours::Dontcare, _) => DONTCARE_VALUE as u16,
                            _ => 0,
                        };
                        (value, Some(slot))
                    }
                    class => (class, None),
                };
            }
            if let Some(slot) = last_unknown {
                unknown[slot].pixels += 1;
            }
            out.push(last_value);
        }
        unknown.sort_by(|a, b| b.pixels.cmp(&a.pixels).then(a.first.1.cmp(&b.first.1)));
        (out, unknown)
    }
}

/// Classes that share a colour with an earlier class: they never appear in
/// the output, which a user should hear about once.
pub fn shared_colours(palette: &ClassTable) -> Vec<String> {
    let mut first: HashMap<[u8; 3], usize> = HashMap::new();
    let mut notes = Vec::new();
    for (i, c) in palette.classes.iter().enumerate() {
        match first.get(&c.rgb()) {
            Some(&j) => notes.push(format!(
                "class {i} ({}) has the colour {} of class {j} ({}); that colour becomes class {j}",
                c.name, c.color, palette.classes[j].name
            )),
            None => {
                first.insert(c.rgb(), i);
            }
        }
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::classes::{hex, ClassInfo};

    fn palette(colours: &[[u8; 3]]) -> ClassTable {
        ClassTable {
            source: "test".into(),
            classes: colours
                .iter()
                .enumerate()
                .map(|(i, &c)| ClassInfo {
                    name: format!("c{i}"),
                    color: hex(c),
                    coco_stuff: None,
                })
                .collect(),
        }
    }

    const RED: [u8; 3] = [255, 0, 0];
    const GREEN: [u8; 3] = [0, 255, 0];
    const BLUE: [u8; 3] = [0, 0, 255];

    fn pixels(colours: &[[u8; 3]]) -> Vec<u8> {
        colours.iter().flatten().copied().collect()
    }

    #[test]
    fn maps_each_colour_to_its_line_in_the_palette() {
        let lookup = ColourLookup::new(&palette(&[RED, GREEN, BLUE]));
        let rgb = pixels(&[BLUE, BLUE, RED, GREEN, GREEN, BLUE]);
        let (classes, unknown) = lookup.classify(&rgb, 3, 3, UnknownColours::Error);
        assert_eq!(classes, [2, 2, 0, 1, 1, 2]);
        assert!(unknown.is_empty());
    }

    #[test]
    fn ignores_alpha() {
        let lookup = ColourLookup::new(&palette(&[RED, GREEN]));
        let (classes, _) =
            lookup.classify(&[0, 255, 0, 0, 255, 0, 0, 255], 4, 2, UnknownColours::Error);
        assert_eq!(classes, [1, 0]);
    }

    #[test]
    fn counts_unknown_colours_with_their_first_position() {
        let lookup = ColourLookup::new(&palette(&[RED, GREEN]));
        let odd = [1, 2, 3];
        let rgb = pixels(&[RED, odd, odd, RED, BLUE, odd]);
        let (classes, unknown) = lookup.classify(&rgb, 3, 2, UnknownColours::Dontcare);
        assert_eq!(classes, [0, 255, 255, 0, 255, 255]);
        assert_eq!(unknown.len(), 2);
        assert_eq!(
            (unknown[0].rgb, unknown[0].pixels, unknown[0].first),
            (odd, 3, (1, 0))
        );
        assert_eq!(
            (unknown[1].rgb, unknown[1].pixels, unknown[1].first),
            (BLUE, 1, (0, 2))
        );
    }

    #[test]
    fn nearest_takes_the_closest_palette_colour() {
        let lookup = ColourLookup::new(&palette(&[RED, GREEN, BLUE]));
        let rgb = pixels(&[[10, 200, 30], [0, 0, 250]]);
        let (classes, unknown) = lookup.classify(&rgb, 3, 2, UnknownColours::Nearest);
        assert_eq!(classes, [1, 2]);
        assert_eq!(unknown[0].nearest, Some(1));
    }

    #[test]
    fn the_first_of_two_classes_with_one_colour_wins() {
        let table = palette(&[RED, GREEN, RED]);
        let (classes, _) =
            ColourLookup::new(&table).classify(&pixels(&[RED]), 3, 1, UnknownColours::Error);
        assert_eq!(classes, [0]);
        assert!(
            shared_colours(&table)[0].contains("class 2 (c2) has the colour #ff0000 of class 0")
        );
    }
}
