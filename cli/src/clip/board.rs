//! The desktop clipboard through `arboard`: X11, and Wayland compositors that offer the
//! data-control protocol (wlroots-based ones such as sway; arboard falls back to X11, e.g.
//! XWayland, where the compositor has none). Images travel as PNG; what the clipboard gives
//! and takes is RGBA pixels.

use std::borrow::Cow;
use std::io::Cursor;

use arboard::{Clipboard, ImageData};
use image::{ImageFormat, ImageReader, Limits, RgbaImage};

use super::guard::Seen;

/// Largest image side `clip` decodes (a hostile PNG may claim any size).
const MAX_SIDE: u32 = 16_384;

/// What a clipboard holds, as far as `clip` cares.
pub enum Clip {
    Text(String),
    Image {
        width: usize,
        height: usize,
        rgba: Vec<u8>,
    },
}

impl Clip {
    pub fn seen(&self) -> Seen {
        match self {
            Clip::Text(t) => Seen::text(t),
            Clip::Image {
                width,
                height,
                rgba,
            } => Seen::image(*width, *height, rgba),
        }
    }
}

pub struct Board(Clipboard);

impl Board {
    pub fn open() -> Result<Board, String> {
        Clipboard::new()
            .map(Board)
            .map_err(|e| format!("no desktop clipboard ({e}); is DISPLAY or WAYLAND_DISPLAY set?"))
    }

    /// Text if there is some (cheap to read, so looked for first), else an image; `None`
    /// when there is neither or the clipboard could not be read this time (arboard's errors
    /// do not tell an image-only clipboard from a busy owner on X11, so neither is news).
    pub fn read(&mut self) -> Option<Clip> {
        if let Ok(text) = self.0.get_text() {
            return Some(Clip::Text(text));
        }
        let img = self.0.get_image().ok()?;
        Some(Clip::Image {
            width: img.width,
            height: img.height,
            rgba: img.bytes.into_owned(),
        })
    }

    pub fn write(&mut self, clip: &Clip) -> Result<(), String> {
        let result = match clip {
            Clip::Text(t) => self.0.set_text(t.as_str()),
            Clip::Image {
                width,
                height,
                rgba,
            } => self.0.set_image(ImageData {
                width: *width,
                height: *height,
                bytes: Cow::Borrowed(rgba),
            }),
        };
        result.map_err(|e| format!("could not set the clipboard: {e}"))
    }
}

/// A PNG of the clipboard's pixels, as the session receives images.
pub fn encode_png(width: usize, height: usize, rgba: &[u8]) -> Option<Vec<u8>> {
    let img = RgbaImage::from_raw(width as u32, height as u32, rgba.to_vec())?;
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png).ok()?;
    Some(out.into_inner())
}

/// Pixels of a received PNG or JPEG, within [`MAX_SIDE`] and `max_bytes` of memory; `None`
/// for anything else.
pub fn decode(bytes: &[u8], max_bytes: u64) -> Option<Clip> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .ok()?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(max_bytes.saturating_mul(8).max(64 << 20));
    reader.limits(limits);
    let img = reader.decode().ok()?.to_rgba8();
    Some(Clip::Image {
        width: img.width() as usize,
        height: img.height() as usize,
        rgba: img.into_raw(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_png_round_trips_to_the_same_pixels_and_junk_is_refused() {
        let rgba: Vec<u8> = (0..4 * 3 * 2).map(|i| (i * 10) as u8).collect();
        let png = encode_png(3, 2, &rgba).unwrap();
        let Some(Clip::Image {
            width,
            height,
            rgba: back,
        }) = decode(&png, 1 << 20)
        else {
            panic!("not decoded")
        };
        assert_eq!((width, height, back), (3, 2, rgba));
        assert!(decode(b"not an image", 1 << 20).is_none());
        assert!(
            encode_png(3, 3, &[0; 4]).is_none(),
            "pixels do not fit the size"
        );
        // A PNG whose header claims 100,000 pixels a side is refused.
        let mut huge = png.clone();
        huge[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        assert!(decode(&huge, 1 << 20).is_none());
    }
}
