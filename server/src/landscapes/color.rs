//! Colour arithmetic for the renderer: linear-ish RGB triples in [0, 1].

pub type Rgb = [f32; 3];

pub fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

pub fn scale(a: Rgb, k: f32) -> Rgb {
    [a[0] * k, a[1] * k, a[2] * k]
}

pub fn mul(a: Rgb, b: Rgb) -> Rgb {
    [a[0] * b[0], a[1] * b[1], a[2] * b[2]]
}

pub fn add(a: Rgb, b: Rgb) -> Rgb {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

pub fn luma(a: Rgb) -> f32 {
    0.299 * a[0] + 0.587 * a[1] + 0.114 * a[2]
}

/// A colour from `#rrggbb`-style bytes.
pub const fn rgb8(r: u8, g: u8, b: u8) -> Rgb {
    [r as f32 / 255.0, g as f32 / 255.0, b as f32 / 255.0]
}

pub fn smoothstep(lo: f32, hi: f32, x: f32) -> f32 {
    let t = ((x - lo) / (hi - lo)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// A colour varied by up to `amount` in brightness and half that per channel.
pub fn jitter(rng: &mut super::noise::Rng, c: Rgb, amount: f32) -> Rgb {
    let k = 1.0 + rng.range(-amount, amount);
    let mut out = scale(c, k);
    for ch in &mut out {
        *ch = (*ch * (1.0 + rng.range(-amount, amount) * 0.5)).clamp(0.0, 1.0);
    }
    out
}
