//! Drift plots: the points of a motion correction's drift file (Diamond's JSON, as PATo reads
//! it) and a PNG drawn from them, for clients that want an image whatever the schema wrote.
//! The PNG is a small palette image (white background, axes through the origin, the
//! trajectory in blue from a green start to a red end) compressed with `flate2`; there is no
//! text (no font is shipped).

use std::io::Write;

use serde_json::Value;

/// Points of a drift trajectory, Å.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, utoipa::ToSchema)]
pub struct DriftPoints {
    /// X shifts.
    pub x: Vec<f64>,
    /// Y shifts.
    pub y: Vec<f64>,
}

/// Reads the points of a drift file: PATo's `{"data": [{"x": [..], "y": [..]}]}`, a bare
/// `{"x": [..], "y": [..]}` or a list of `[x, y]` pairs. `None` when it is none of these.
pub fn parse_drift(json: &Value) -> Option<DriftPoints> {
    let numbers = |v: &Value| -> Option<Vec<f64>> { v.as_array()?.iter().map(Value::as_f64).collect() };
    let xy = |o: &Value| -> Option<DriftPoints> {
        let (x, y) = (numbers(o.get("x")?)?, numbers(o.get("y")?)?);
        (x.len() == y.len()).then_some(DriftPoints { x, y })
    };
    if let Some(first) = json.get("data").and_then(Value::as_array).and_then(|d| d.first()) {
        return xy(first);
    }
    if json.get("x").is_some() {
        return xy(json);
    }
    let pairs = json.as_array()?;
    let mut out = DriftPoints::default();
    for p in pairs {
        let p = p.as_array().filter(|p| p.len() == 2)?;
        out.x.push(p[0].as_f64()?);
        out.y.push(p[1].as_f64()?);
    }
    Some(out)
}

const W: usize = 480;
const H: usize = 480;
const MARGIN: f64 = 24.0;
/// White, grey, blue, green, red.
const PALETTE: [[u8; 3]; 5] = [[255, 255, 255], [190, 190, 190], [31, 119, 180], [44, 160, 44], [214, 39, 40]];
const GREY: u8 = 1;
const BLUE: u8 = 2;
const GREEN: u8 = 3;
const RED: u8 = 4;

struct Canvas {
    px: Vec<u8>,
}

impl Canvas {
    fn set(&mut self, x: i64, y: i64, c: u8) {
        if (0..W as i64).contains(&x) && (0..H as i64).contains(&y) {
            self.px[y as usize * W + x as usize] = c;
        }
    }

    fn dot(&mut self, x: i64, y: i64, r: i64, c: u8) {
        for dy in -r..=r {
            for dx in -r..=r {
                if dx * dx + dy * dy <= r * r {
                    self.set(x + dx, y + dy, c);
                }
            }
        }
    }

    /// Bresenham's line, two pixels wide.
    fn line(&mut self, (x0, y0): (i64, i64), (x1, y1): (i64, i64), c: u8, wide: bool) {
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let (mut x, mut y, mut err) = (x0, y0, dx + dy);
        loop {
            self.set(x, y, c);
            if wide {
                self.set(x + 1, y, c);
                self.set(x, y + 1, c);
            }
            if x == x1 && y == y1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }
}

/// Draws the trajectory, equal scales on both axes, and encodes it as a PNG.
pub fn drift_png(points: &DriftPoints) -> Vec<u8> {
    let mut c = Canvas { px: vec![0; W * H] };
    let finite: Vec<(f64, f64)> =
        points.x.iter().zip(&points.y).map(|(x, y)| (*x, *y)).filter(|(x, y)| x.is_finite() && y.is_finite()).collect();
    let extent = finite.iter().fold(1e-9_f64, |m, (x, y)| m.max(x.abs()).max(y.abs())) * 1.1;
    let scale = (W.min(H) as f64 / 2.0 - MARGIN) / extent;
    let (cx, cy) = ((W / 2) as f64, (H / 2) as f64);
    let to_px = |(x, y): (f64, f64)| ((cx + x * scale).round() as i64, (cy - y * scale).round() as i64);
    c.line((MARGIN as i64, cy as i64), ((W as f64 - MARGIN) as i64, cy as i64), GREY, false);
    c.line((cx as i64, MARGIN as i64), (cx as i64, (H as f64 - MARGIN) as i64), GREY, false);
    let px: Vec<(i64, i64)> = finite.iter().copied().map(to_px).collect();
    for pair in px.windows(2) {
        c.line(pair[0], pair[1], BLUE, true);
    }
    if let (Some(first), Some(last)) = (px.first(), px.last()) {
        c.dot(first.0, first.1, 4, GREEN);
        c.dot(last.0, last.1, 4, RED);
    }
    encode(&c.px)
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

/// An 8-bit palette PNG of the canvas.
fn encode(px: &[u8]) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&(W as u32).to_be_bytes());
    ihdr.extend_from_slice(&(H as u32).to_be_bytes());
    ihdr.extend_from_slice(&[8, 3, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"PLTE", &PALETTE.concat());
    let mut raw = Vec::with_capacity((W + 1) * H);
    for row in px.chunks(W) {
        raw.push(0);
        raw.extend_from_slice(row);
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = z.write_all(&raw);
    let data = z.finish().unwrap_or_default();
    chunk(&mut out, b"IDAT", &data);
    chunk(&mut out, b"IEND", &[]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_drift_shape() {
        let pato = serde_json::json!({"data": [{"x": [0.0, 1.5], "y": [0.0, -2.0]}]});
        assert_eq!(parse_drift(&pato), Some(DriftPoints { x: vec![0.0, 1.5], y: vec![0.0, -2.0] }));
        assert_eq!(parse_drift(&serde_json::json!({"x": [1], "y": [2]})).unwrap().y, vec![2.0]);
        assert_eq!(parse_drift(&serde_json::json!([[1, 2], [3, 4]])).unwrap().x, vec![1.0, 3.0]);
        assert_eq!(parse_drift(&serde_json::json!({"x": [1], "y": []})), None);
        assert_eq!(parse_drift(&serde_json::json!("no")), None);
    }

    #[test]
    fn draws_a_png() {
        let png = drift_png(&DriftPoints { x: vec![0.0, 3.0, 5.0], y: vec![0.0, 1.0, -4.0] });
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert_eq!(&png[12..16], b"IHDR");
        assert!(png.ends_with(&[0xAE, 0x42, 0x60, 0x82]), "IEND's CRC");
        assert!(png.len() < 20_000, "{}", png.len());
        assert!(drift_png(&DriftPoints::default()).len() > 50);
    }
}
