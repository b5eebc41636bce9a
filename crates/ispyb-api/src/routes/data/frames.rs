//! Diffraction frames from HDF5 files (Dectris Eiger / NeXus layout), with `hdf5-pure` (a
//! pure-Rust HDF5 reader) for the structure and the standard filters, and the bitshuffle +
//! LZ4 filter (HDF5 filter 32008, what Eiger detectors write) decoded here, chunk by chunk.
//!
//! A frame is found as py-ISPyB finds it: the dataset under `/entry/data` whose
//! `image_nr_low`..`image_nr_high` attributes hold the image number. Callers open every file
//! through `files.rs` and hand the opened file over; nothing here opens a path.

use std::io::{Read, Seek, SeekFrom};

use hdf5_pure::{AttrValue, DType, File};

/// HDF5 filter id of bitshuffle.
const BITSHUFFLE: u16 = 32008;

/// One frame as 32-bit floats, row by row.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Pixels per row.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// `width * height` values.
    pub data: Vec<f32>,
}

/// An HDF5 file read from an opened file.
pub struct H5 {
    file: File,
    raw: std::fs::File,
}

impl H5 {
    /// Reads the structure of an opened file.
    pub fn open(raw: std::fs::File) -> Result<Self, String> {
        let source = hdf5_pure::ReadSeekSource::new(raw.try_clone().map_err(|e| e.to_string())?)
            .map_err(|e| format!("not an HDF5 file: {e}"))?;
        let file = File::from_source(source).map_err(|e| format!("not an HDF5 file: {e}"))?;
        Ok(Self { file, raw })
    }

    /// The dataset under `/entry/data` holding image `number` and the frame's index in it.
    pub fn find(&self, number: u64) -> Option<(String, u64)> {
        let group = self.file.group("entry/data").ok()?;
        let mut names = group.datasets().ok()?;
        names.sort();
        for name in names {
            let path = format!("entry/data/{name}");
            let Ok(ds) = self.file.dataset(&path) else { continue };
            let Ok(attrs) = ds.attrs() else { continue };
            let (Some(low), Some(high)) =
                (attrs.get("image_nr_low").and_then(int_of), attrs.get("image_nr_high").and_then(int_of))
            else {
                continue;
            };
            if low <= number && number <= high {
                return Some((path, number - low));
            }
        }
        None
    }

    /// Frame `index` of a 3-D dataset (or the whole of a 2-D one).
    pub fn read(&mut self, path: &str, index: u64) -> Result<Frame, String> {
        let ds = self.file.dataset(path).map_err(|e| e.to_string())?;
        let shape = ds.shape().map_err(|e| e.to_string())?;
        let (n, height, width) = match shape.as_slice() {
            [n, h, w] => (*n, *h as usize, *w as usize),
            [h, w] => (1, *h as usize, *w as usize),
            other => return Err(format!("not an image stack: shape {other:?}")),
        };
        if index >= n {
            return Err("no such frame".into());
        }
        let dtype = ds.dtype().map_err(|e| e.to_string())?;
        let pipeline = ds.filter_pipeline();
        let data = if pipeline.iter().any(|f| f.id == BITSHUFFLE) {
            let chunk = ds.chunk_shape().map_err(|e| e.to_string())?.ok_or("a filtered dataset must be chunked")?;
            let chunks = ds.chunks().map_err(|e| e.to_string())?;
            let elem = ds.element_size().map_err(|e| e.to_string())? as usize;
            let filter = pipeline.iter().find(|f| f.id == BITSHUFFLE).cloned().ok_or("no filter")?;
            if pipeline.len() != 1 {
                return Err("bitshuffle combined with other filters is not supported".into());
            }
            let geometry = Geometry { shape: [n, height as u64, width as u64], chunk: chunk3(&chunk, shape.len())? };
            let mut bytes = vec![0u8; width * height * elem];
            for c in chunks.iter().filter(|c| geometry.holds(&c.offset, index)) {
                let mut stored = vec![0u8; usize::try_from(c.storage_size).map_err(|e| e.to_string())?];
                self.raw.seek(SeekFrom::Start(c.address)).map_err(|e| e.to_string())?;
                self.raw.read_exact(&mut stored).map_err(|e| e.to_string())?;
                let decoded = if c.filter_mask & 1 == 1 {
                    stored
                } else {
                    bitshuffle_decode(&stored, elem, filter.client_data.get(4).copied().unwrap_or(2))?
                };
                geometry.copy_frame(&decoded, &c.offset, index, elem, &mut bytes)?;
            }
            to_f32(&dtype, &bytes)?
        } else {
            let bytes = ds.read_raw_rows(index, 1).map_err(|e| e.to_string())?;
            to_f32(&dtype, &bytes)?
        };
        if data.len() != width * height {
            return Err(format!("frame has {} values for {width}x{height}", data.len()));
        }
        Ok(Frame { width, height, data })
    }

    /// A number stored at `/entry/instrument/<path>` (a scalar or the first value).
    pub fn instrument(&self, path: &str) -> Option<f64> {
        let ds = self.file.dataset(&format!("entry/instrument/{path}")).ok()?;
        ds.read_f64().ok().and_then(|v| v.first().copied())
    }
}

fn int_of(v: &AttrValue) -> Option<u64> {
    let i: i128 = match v {
        AttrValue::I8(x) => (*x).into(),
        AttrValue::I16(x) => (*x).into(),
        AttrValue::I32(x) => (*x).into(),
        AttrValue::I64(x) => (*x).into(),
        AttrValue::U8(x) => (*x).into(),
        AttrValue::U16(x) => (*x).into(),
        AttrValue::U32(x) => (*x).into(),
        AttrValue::U64(x) => (*x).into(),
        AttrValue::I32Array(x) => (*x.first()?).into(),
        AttrValue::I64Array(x) => (*x.first()?).into(),
        AttrValue::U32Array(x) => (*x.first()?).into(),
        AttrValue::U64Array(x) => (*x.first()?).into(),
        _ => return None,
    };
    u64::try_from(i).ok()
}

fn chunk3(chunk: &[u64], rank: usize) -> Result<[u64; 3], String> {
    match (chunk, rank) {
        ([a, b, c], 3) => Ok([*a, *b, *c]),
        ([b, c], 2) => Ok([1, *b, *c]),
        _ => Err(format!("unexpected chunk shape {chunk:?}")),
    }
}

/// Shape and chunk shape of a (frames, rows, columns) dataset.
struct Geometry {
    shape: [u64; 3],
    chunk: [u64; 3],
}

impl Geometry {
    fn offset3(offset: &[u64]) -> [u64; 3] {
        match offset {
            [a, b, c] => [*a, *b, *c],
            [b, c] => [0, *b, *c],
            _ => [u64::MAX, 0, 0],
        }
    }

    fn holds(&self, offset: &[u64], frame: u64) -> bool {
        let o = Self::offset3(offset);
        o[0] <= frame && frame < o[0].saturating_add(self.chunk[0])
    }

    /// Copies the part of frame `frame` a decoded chunk holds into the frame's bytes.
    fn copy_frame(&self, chunk: &[u8], offset: &[u64], frame: u64, elem: usize, out: &mut [u8]) -> Result<(), String> {
        let o = Self::offset3(offset);
        let [_, ch, cw] = self.chunk.map(|v| v as usize);
        let (h, w) = (self.shape[1] as usize, self.shape[2] as usize);
        let plane = (frame - o[0]) as usize * ch * cw;
        if chunk.len() < (plane + ch * cw) * elem {
            return Err("chunk shorter than its shape".into());
        }
        for y in 0..ch {
            let row = o[1] as usize + y;
            if row >= h {
                break;
            }
            let cols = cw.min(w.saturating_sub(o[2] as usize));
            let src = (plane + y * cw) * elem;
            let dst = (row * w + o[2] as usize) * elem;
            out[dst..dst + cols * elem].copy_from_slice(&chunk[src..src + cols * elem]);
        }
        Ok(())
    }
}

/// Little-endian values of a type to `f32`.
fn to_f32(dtype: &DType, b: &[u8]) -> Result<Vec<f32>, String> {
    macro_rules! conv {
        ($t:ty, $n:expr) => {
            b.chunks_exact($n).map(|c| <$t>::from_le_bytes(c.try_into().unwrap_or([0; $n])) as f32).collect()
        };
    }
    Ok(match dtype {
        DType::U8 => b.iter().map(|v| f32::from(*v)).collect(),
        DType::I8 => b.iter().map(|v| f32::from(*v as i8)).collect(),
        DType::U16 => conv!(u16, 2),
        DType::I16 => conv!(i16, 2),
        DType::U32 => conv!(u32, 4),
        DType::I32 => conv!(i32, 4),
        DType::U64 => conv!(u64, 8),
        DType::I64 => conv!(i64, 8),
        DType::F32 => conv!(f32, 4),
        DType::F64 => conv!(f64, 8),
        other => return Err(format!("not a numeric image: {other}")),
    })
}

/// Decodes one chunk of HDF5 filter 32008: a 12-byte header (uncompressed size, u64 big-endian;
/// block size in bytes, u32 big-endian), then blocks of bit-transposed elements, each
/// LZ4-compressed behind its u32 big-endian length (`compression` 2) or stored (`0`); the last
/// `size % 8` elements are stored as they are.
pub fn bitshuffle_decode(input: &[u8], elem: usize, compression: u32) -> Result<Vec<u8>, String> {
    if input.len() < 12 || elem == 0 {
        return Err("bitshuffle chunk too short".into());
    }
    let total = u64::from_be_bytes(input[0..8].try_into().map_err(|_| "header")?) as usize;
    let block_bytes = u32::from_be_bytes(input[8..12].try_into().map_err(|_| "header")?) as usize;
    if !total.is_multiple_of(elem) || block_bytes == 0 || !block_bytes.is_multiple_of(elem) || total > (1 << 31) {
        return Err("bad bitshuffle header".into());
    }
    let size = total / elem;
    let block = block_bytes / elem;
    if !block.is_multiple_of(8) {
        return Err("bitshuffle block size must be a multiple of 8".into());
    }
    let mut out = vec![0u8; total];
    let mut pos = 12;
    let mut done = 0usize;
    let mut shuffled = Vec::new();
    while done < size {
        let n = if size - done >= block { block } else { (size - done) - (size - done) % 8 };
        if n == 0 {
            break;
        }
        let bytes = n * elem;
        shuffled.resize(bytes, 0);
        match compression {
            2 => {
                let len = input.get(pos..pos + 4).ok_or("truncated block")?;
                let len = u32::from_be_bytes(len.try_into().map_err(|_| "length")?) as usize;
                pos += 4;
                let compressed = input.get(pos..pos + len).ok_or("truncated block")?;
                pos += len;
                let got = lz4_flex::block::decompress_into(compressed, &mut shuffled).map_err(|e| e.to_string())?;
                if got != bytes {
                    return Err("LZ4 block of the wrong size".into());
                }
            }
            0 => {
                shuffled.copy_from_slice(input.get(pos..pos + bytes).ok_or("truncated block")?);
                pos += bytes;
            }
            other => return Err(format!("bitshuffle compression {other} is not supported")),
        }
        bit_untranspose(&shuffled, n, elem, &mut out[done * elem..(done + n) * elem]);
        done += n;
    }
    let rest = (size - done) * elem;
    out[done * elem..].copy_from_slice(input.get(pos..pos + rest).ok_or("truncated leftover")?);
    Ok(out)
}

/// Inverse of bitshuffle's bit transpose of `n` elements (`n` a multiple of 8): bit plane
/// `8 * byte + bit` holds that bit of every element, element `i` at bit `i % 8` of byte `i / 8`.
fn bit_untranspose(input: &[u8], n: usize, elem: usize, out: &mut [u8]) {
    let row = n / 8;
    out.fill(0);
    for j in 0..elem {
        for k in 0..8 {
            let plane = &input[(j * 8 + k) * row..(j * 8 + k + 1) * row];
            for (byte_index, byte) in plane.iter().enumerate() {
                if *byte == 0 {
                    continue;
                }
                for b in 0..8 {
                    if byte >> b & 1 == 1 {
                        let i = byte_index * 8 + b;
                        out[i * elem + j] |= 1 << k;
                    }
                }
            }
        }
    }
}

/// Bitshuffle + LZ4 encoding of a chunk, the inverse of [`bitshuffle_decode`] (tests build
/// Eiger-like files with it).
pub fn bitshuffle_encode(input: &[u8], elem: usize, block: usize) -> Vec<u8> {
    let size = input.len() / elem;
    let mut out = Vec::new();
    out.extend_from_slice(&(input.len() as u64).to_be_bytes());
    out.extend_from_slice(&((block * elem) as u32).to_be_bytes());
    let mut done = 0;
    while done < size {
        let n = if size - done >= block { block } else { (size - done) - (size - done) % 8 };
        if n == 0 {
            break;
        }
        let src = &input[done * elem..(done + n) * elem];
        let row = n / 8;
        let mut t = vec![0u8; n * elem];
        for i in 0..n {
            for j in 0..elem {
                for k in 0..8 {
                    if src[i * elem + j] >> k & 1 == 1 {
                        t[(j * 8 + k) * row + i / 8] |= 1 << (i % 8);
                    }
                }
            }
        }
        let compressed = lz4_flex::block::compress(&t);
        out.extend_from_slice(&(compressed.len() as u32).to_be_bytes());
        out.extend_from_slice(&compressed);
        done += n;
    }
    out.extend_from_slice(&input[done * elem..]);
    out
}

/// h5grove's array statistics (py-ISPyB adds them to the header).
pub fn array_stats(values: &[f32]) -> serde_json::Value {
    if values.is_empty() {
        return serde_json::json!({"strict_positive_min": null, "positive_min": null, "min": null, "max": null, "mean": null, "std": null});
    }
    let n = values.len() as f64;
    let mut min = f32::INFINITY;
    let mut max = f32::NEG_INFINITY;
    let mut positive_min: Option<f32> = None;
    let mut strict_positive_min: Option<f32> = None;
    let mut sum = 0.0f64;
    for &v in values {
        min = min.min(v);
        max = max.max(v);
        if v >= 0.0 {
            positive_min = Some(positive_min.map_or(v, |m| m.min(v)));
        }
        if v > 0.0 {
            strict_positive_min = Some(strict_positive_min.map_or(v, |m| m.min(v)));
        }
        sum += f64::from(v);
    }
    let mean = sum / n;
    let var = values.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n;
    serde_json::json!({
        "strict_positive_min": strict_positive_min, "positive_min": positive_min,
        "min": min, "max": max, "mean": mean, "std": var.sqrt(),
    })
}

/// py-ISPyB's histogram of a frame: pixels below mean + 3σ, unit bins when their maximum is
/// at most 300, else 300 bins.
pub fn histogram(values: &[f32]) -> serde_json::Value {
    let empty = serde_json::json!({"values": [], "bins": [], "shape": [0], "max": 0});
    if values.is_empty() {
        return empty;
    }
    let n = values.len() as f64;
    let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let std = (values.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n).sqrt();
    let clean: Vec<f64> = values.iter().map(|&v| f64::from(v)).filter(|v| *v < mean + 3.0 * std).collect();
    if clean.is_empty() {
        return empty;
    }
    let lo = clean.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = clean.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let edges: Vec<f64> = if hi <= 300.0 {
        let count = (hi - lo).ceil().max(0.0) as usize;
        (0..count).map(|i| lo + i as f64).collect()
    } else {
        (0..=300).map(|i| lo + (hi - lo) * i as f64 / 300.0).collect()
    };
    if edges.len() < 2 {
        return serde_json::json!({"values": [], "bins": edges, "shape": [0], "max": 0});
    }
    let bins = edges.len() - 1;
    let (first, last) = (edges[0], edges[bins]);
    let width = (last - first) / bins as f64;
    let mut counts = vec![0u64; bins];
    for v in clean {
        if v < first || v > last {
            continue;
        }
        let i = (((v - first) / width) as usize).min(bins - 1);
        counts[i] += 1;
    }
    let max = counts.iter().copied().max().unwrap_or(0);
    serde_json::json!({"values": counts.iter().map(|c| *c as f64).collect::<Vec<_>>(), "bins": edges, "shape": [bins], "max": max})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitshuffle_round_trips() {
        for (elem, count, block) in [(4, 1003, 256), (2, 64, 64), (4, 7, 8), (1, 17, 8)] {
            let data: Vec<u8> = (0..count * elem).map(|i| (i * 7 % 251) as u8).collect();
            let enc = bitshuffle_encode(&data, elem, block);
            assert_eq!(bitshuffle_decode(&enc, elem, 2).unwrap(), data, "elem {elem} count {count}");
        }
    }

    #[test]
    fn bit_planes_follow_bitshuffle() {
        // 8 u8 elements, the first set to 1: plane 0 (bit 0 of byte 0) has element 0 at bit 0.
        let mut planes = vec![0u8; 8];
        planes[0] = 0b0000_0001;
        planes[7] = 0b1000_0000;
        let mut out = vec![0u8; 8];
        bit_untranspose(&planes, 8, 1, &mut out);
        assert_eq!(out, [1, 0, 0, 0, 0, 0, 0, 128]);
        assert!(bitshuffle_decode(&[0; 5], 4, 2).is_err());
    }

    #[test]
    fn histograms_like_py_ispyb() {
        let h = histogram(&[0.0, 1.0, 1.0, 2.0, 3.0]);
        assert_eq!(h["bins"], serde_json::json!([0.0, 1.0, 2.0]));
        assert_eq!(h["values"], serde_json::json!([1.0, 3.0]));
        assert_eq!(h["max"], 3);
        let stats = array_stats(&[-1.0, 0.0, 2.0]);
        assert_eq!(
            (stats["min"].clone(), stats["strict_positive_min"].clone()),
            (serde_json::json!(-1.0), serde_json::json!(2.0))
        );
    }
}
