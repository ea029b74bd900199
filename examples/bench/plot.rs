//! A PNG of time series, one panel per series, drawn pixel by pixel and written with the `png`
//! crate: labels in a 3×5 pixel font (upper case, digits and a few signs), each panel with its
//! range and the time axis in minutes. Enough to see a trend, and no plotting library to build.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

/// A line: its colour, and its points as (minutes, value).
pub type Line = ([u8; 3], Vec<(f64, f64)>);

/// One panel: a title, and its lines.
pub struct Panel {
    pub title: String,
    pub lines: Vec<Line>,
}

const PANEL_W: usize = 560;
const PANEL_H: usize = 170;
const MARGIN: usize = 14;
const SCALE: usize = 2;
const INK: [u8; 3] = [40, 40, 40];
const GRID: [u8; 3] = [225, 225, 225];

pub const BLUE: [u8; 3] = [31, 100, 200];
pub const ORANGE: [u8; 3] = [230, 120, 20];

/// Writes `panels` in two columns to `path`.
pub fn write_png(path: &Path, title: &str, panels: &[Panel]) -> Result<(), String> {
    let columns = 2;
    let rows = panels.len().div_ceil(columns);
    let width = columns * PANEL_W;
    let height = 30 + rows * PANEL_H;
    let mut img = Canvas {
        width,
        height,
        px: vec![255; width * height * 3],
    };
    img.text(MARGIN, 10, title, INK);
    for (i, panel) in panels.iter().enumerate() {
        let x0 = (i % columns) * PANEL_W;
        let y0 = 30 + (i / columns) * PANEL_H;
        img.panel(x0, y0, panel);
    }
    let file = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut encoder = png::Encoder::new(BufWriter::new(file), width as u32, height as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder
        .write_header()
        .and_then(|mut w| w.write_image_data(&img.px))
        .map_err(|e| format!("{}: {e}", path.display()))
}

struct Canvas {
    width: usize,
    height: usize,
    px: Vec<u8>,
}

impl Canvas {
    fn set(&mut self, x: usize, y: usize, c: [u8; 3]) {
        if x < self.width && y < self.height {
            let at = (y * self.width + x) * 3;
            self.px[at..at + 3].copy_from_slice(&c);
        }
    }

    fn text(&mut self, x: usize, y: usize, text: &str, c: [u8; 3]) {
        for (i, ch) in text.chars().enumerate() {
            let bits = glyph(ch);
            for row in 0..5 {
                for col in 0..3 {
                    if bits >> (14 - (row * 3 + col)) & 1 == 1 {
                        for dy in 0..SCALE {
                            for dx in 0..SCALE {
                                let px = x + i * 4 * SCALE + col * SCALE + dx;
                                self.set(px, y + row * SCALE + dy, c);
                            }
                        }
                    }
                }
            }
        }
    }

    fn line(&mut self, (x0, y0): (f64, f64), (x1, y1): (f64, f64), c: [u8; 3]) {
        let steps = (x1 - x0).abs().max((y1 - y0).abs()).ceil().max(1.0) as usize;
        for s in 0..=steps {
            let t = s as f64 / steps as f64;
            let (x, y) = (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t);
            self.set(x.round() as usize, y.round() as usize, c);
            self.set(x.round() as usize, y.round() as usize + 1, c);
        }
    }

    fn panel(&mut self, x0: usize, y0: usize, panel: &Panel) {
        let points = panel.lines.iter().flat_map(|(_, p)| p.iter());
        let (mut t_max, mut v_max) = (0.0f64, 0.0f64);
        for (t, v) in points {
            t_max = t_max.max(*t);
            v_max = v_max.max(*v);
        }
        let t_max = if t_max > 0.0 { t_max } else { 1.0 };
        let v_max = nice_ceiling(v_max);
        let (left, top) = (x0 + 60, y0 + 22);
        let (w, h) = (PANEL_W - 60 - 2 * MARGIN, PANEL_H - 22 - 28);
        self.text(x0 + MARGIN, y0 + 6, &panel.title, INK);
        for k in 0..=4 {
            let y = top + h - h * k / 4;
            for x in left..left + w {
                self.set(x, y, if k == 0 { INK } else { GRID });
            }
            self.text(
                x0 + MARGIN,
                y.saturating_sub(5),
                &short(v_max * k as f64 / 4.0),
                INK,
            );
        }
        for y in top..=top + h {
            self.set(left, y, INK);
        }
        for k in 0..=4 {
            let x = left + w * k / 4;
            self.text(
                x.saturating_sub(6),
                top + h + 6,
                &short(t_max * k as f64 / 4.0),
                INK,
            );
        }
        self.text(left + w - 7 * 4 * SCALE, top + h + 16, "MINUTES", INK);
        for (colour, pts) in &panel.lines {
            let at = |(t, v): (f64, f64)| {
                (
                    left as f64 + w as f64 * t / t_max,
                    (top + h) as f64 - h as f64 * (v / v_max).min(1.0),
                )
            };
            for pair in pts.windows(2) {
                self.line(at(pair[0]), at(pair[1]), *colour);
            }
        }
    }
}

/// The next of 1, 2, 5 × 10ⁿ at or above `v` (1 for nothing).
fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * p)
}

fn short(v: f64) -> String {
    if v >= 100.0 || v == v.round() {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// 3×5 glyphs, rows top to bottom, 3 bits each (bit 14 is the top left pixel).
fn glyph(c: char) -> u16 {
    let rows: [u8; 5] = match c.to_ascii_uppercase() {
        '0' => [7, 5, 5, 5, 7],
        '1' => [2, 6, 2, 2, 7],
        '2' => [7, 1, 7, 4, 7],
        '3' => [7, 1, 7, 1, 7],
        '4' => [5, 5, 7, 1, 1],
        '5' => [7, 4, 7, 1, 7],
        '6' => [7, 4, 7, 5, 7],
        '7' => [7, 1, 1, 1, 1],
        '8' => [7, 5, 7, 5, 7],
        '9' => [7, 5, 7, 1, 7],
        'A' => [2, 5, 7, 5, 5],
        'B' => [6, 5, 6, 5, 6],
        'C' => [3, 4, 4, 4, 3],
        'D' => [6, 5, 5, 5, 6],
        'E' => [7, 4, 6, 4, 7],
        'F' => [7, 4, 6, 4, 4],
        'G' => [3, 4, 5, 5, 3],
        'H' => [5, 5, 7, 5, 5],
        'I' => [7, 2, 2, 2, 7],
        'J' => [1, 1, 1, 5, 2],
        'K' => [5, 5, 6, 5, 5],
        'L' => [4, 4, 4, 4, 7],
        'M' => [5, 7, 7, 5, 5],
        'N' => [6, 5, 5, 5, 5],
        'O' => [2, 5, 5, 5, 2],
        'P' => [6, 5, 6, 4, 4],
        'Q' => [2, 5, 5, 6, 3],
        'R' => [6, 5, 6, 5, 5],
        'S' => [3, 4, 2, 1, 6],
        'T' => [7, 2, 2, 2, 2],
        'U' => [5, 5, 5, 5, 7],
        'V' => [5, 5, 5, 5, 2],
        'W' => [5, 5, 7, 7, 5],
        'X' => [5, 5, 2, 5, 5],
        'Y' => [5, 5, 2, 2, 2],
        'Z' => [7, 1, 2, 4, 7],
        '.' => [0, 0, 0, 0, 2],
        ',' => [0, 0, 0, 2, 4],
        ':' => [0, 2, 0, 2, 0],
        '-' => [0, 0, 7, 0, 0],
        '+' => [0, 2, 7, 2, 0],
        '/' => [1, 1, 2, 4, 4],
        '%' => [5, 1, 2, 4, 5],
        '(' => [1, 2, 2, 2, 1],
        ')' => [4, 2, 2, 2, 4],
        '=' => [0, 7, 0, 7, 0],
        _ => [0, 0, 0, 0, 0],
    };
    rows.iter().fold(0, |bits, row| bits << 3 | u16::from(*row))
}
