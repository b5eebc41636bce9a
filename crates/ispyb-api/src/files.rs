//! The one place that turns a file path read from the database into an HTTP response (sample
//! images, data collection snapshots, attachments, EM images, …).
//!
//! The path gets py-ISPyB's `PATH_MAP` prefix, then must resolve, symlinks followed, to a
//! regular file inside one of `ISPYB_DATA_ROOTS`; `..` components, relative paths and links
//! leading out of the roots are refused. Whatever goes wrong, the client gets the route's 404
//! message and nothing else (the reason and the path go to the log). Files are streamed in
//! chunks, never read whole; one `Range: bytes=` request is honoured (206), an unsatisfiable
//! one answered 416.

use std::io::SeekFrom;
use std::path::{Component, Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncRead, AsyncSeekExt, ReadBuf};

use crate::config::Config;
use crate::error::ApiError;

/// Bytes read per chunk of a streamed file.
const CHUNK: usize = 64 * 1024;

/// Serves the file a database row names: `PATH_MAP` + `db_path`, only under the data roots.
/// Every refusal and a missing file answer 404 with `not_found` (e.g. "Sample image not
/// found"); the detail never contains the path.
pub async fn serve_file(
    config: &Config,
    db_path: &str,
    headers: &HeaderMap,
    not_found: &'static str,
) -> Result<Response, ApiError> {
    let (file, path, meta) = match open(config, db_path).await {
        Ok(found) => found,
        Err(reason) => {
            tracing::warn!(path = %db_path, reason = %reason, "file not served");
            return Err(ApiError::NotFound(not_found.into()));
        }
    };
    let len = meta.len();
    let last_modified = meta.modified().ok().map(http_date);
    let range = match headers.get(header::IF_RANGE) {
        // A range is only valid against the version the client saw (we send no ETag).
        Some(v) if last_modified.as_deref().is_none_or(|lm| v.as_bytes() != lm.as_bytes()) => Range::Full,
        _ => parse_range(headers.get(header::RANGE).and_then(|v| v.to_str().ok()), len),
    };
    let (status, start, count) = match range {
        Range::Full => (StatusCode::OK, 0, len),
        Range::Partial(start, end) => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        Range::Unsatisfiable => {
            let mut res = (
                StatusCode::RANGE_NOT_SATISFIABLE,
                axum::Json(serde_json::json!({"detail": "Requested range not satisfiable"})),
            )
                .into_response();
            res.headers_mut().insert(header::CONTENT_RANGE, header_value(&format!("bytes */{len}")));
            return Ok(res);
        }
    };
    let mut file = file;
    if start > 0 {
        file.seek(SeekFrom::Start(start)).await.map_err(|e| ApiError::Internal(format!("seek: {e}")))?;
    }
    let mut res = Body::new(FileBody { file, remaining: count, buf: vec![0; CHUNK] }).into_response();
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(&path)));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if status == StatusCode::PARTIAL_CONTENT {
        h.insert(header::CONTENT_RANGE, header_value(&format!("bytes {start}-{}/{len}", start + count - 1)));
    }
    if let Some(lm) = last_modified {
        h.insert(header::LAST_MODIFIED, header_value(&lm));
    }
    // Files hold users' data: not for shared caches, never sniffed, never run as a page.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox"));
    Ok(res)
}

fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn http_date(t: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t).format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Opens the file `PATH_MAP` + `db_path` names, if it is a regular file inside a data root.
/// The error is the reason, for the log.
pub async fn open(config: &Config, db_path: &str) -> Result<(tokio::fs::File, PathBuf, std::fs::Metadata), String> {
    let full = format!("{}{}", config.path_map.as_deref().unwrap_or(""), db_path);
    let path = check_lexically(&full)?;
    let roots = config.data_roots();
    if roots.is_empty() {
        return Err("no data roots are configured (ISPYB_DATA_ROOTS)".into());
    }
    // Each root as configured and resolved (a root may itself be a link, e.g. /data → /mnt/data).
    let mut allowed: Vec<(PathBuf, PathBuf)> = Vec::new();
    for root in roots {
        if let Ok(real) = tokio::fs::canonicalize(&root).await {
            allowed.push((root, real));
        }
    }
    if !allowed.iter().any(|(root, real)| path.starts_with(root) || path.starts_with(real)) {
        return Err("outside the data roots".into());
    }
    let real = tokio::fs::canonicalize(&path).await.map_err(|e| format!("cannot resolve: {e}"))?;
    if !allowed.iter().any(|(_, root)| real.starts_with(root)) {
        return Err("resolves (through a link) outside the data roots".into());
    }
    let file = tokio::fs::File::open(&real).await.map_err(|e| format!("cannot open: {e}"))?;
    let meta = file.metadata().await.map_err(|e| format!("cannot stat: {e}"))?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    // What was opened, not what the name pointed to a moment before (a link swapped in between).
    if let Some(opened) = opened_path(&file).await
        && !allowed.iter().any(|(_, root)| opened.starts_with(root))
    {
        return Err("the opened file is outside the data roots".into());
    }
    Ok((file, real, meta))
}

/// An absolute path without `..`, NUL or empty parts.
fn check_lexically(full: &str) -> Result<PathBuf, String> {
    if full.trim().is_empty() {
        return Err("empty path".into());
    }
    if full.contains('\0') {
        return Err("NUL in path".into());
    }
    let path = Path::new(full);
    if !path.is_absolute() {
        return Err("not an absolute path".into());
    }
    if path.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err("`..` in path".into());
    }
    // `components()` drops `.` and repeated separators: compare what the kernel will resolve.
    Ok(path.components().collect())
}

#[cfg(target_os = "linux")]
async fn opened_path(file: &tokio::fs::File) -> Option<PathBuf> {
    use std::os::fd::AsRawFd;
    tokio::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).await.ok()
}

#[cfg(not(target_os = "linux"))]
async fn opened_path(_file: &tokio::fs::File) -> Option<PathBuf> {
    None
}

/// What a `Range` header asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Range {
    /// The whole file (no header, another unit, several ranges, or a malformed one).
    Full,
    /// Bytes `start..=end`.
    Partial(u64, u64),
    /// Nothing of the file can be served (416).
    Unsatisfiable,
}

fn parse_range(header: Option<&str>, len: u64) -> Range {
    let Some(value) = header else { return Range::Full };
    let Some((unit, spec)) = value.trim().split_once('=') else { return Range::Full };
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return Range::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else { return Range::Full };
    let (first, last) = (first.trim(), last.trim());
    let number = |s: &str| if s.bytes().all(|b| b.is_ascii_digit()) { s.parse::<u64>().ok() } else { None };
    if first.is_empty() {
        // Suffix: the last N bytes.
        return match number(last) {
            Some(0) => Range::Unsatisfiable,
            Some(_) if len == 0 => Range::Unsatisfiable,
            Some(n) => Range::Partial(len.saturating_sub(n), len - 1),
            None => Range::Full,
        };
    }
    let Some(start) = number(first) else { return Range::Full };
    let end = if last.is_empty() {
        None
    } else {
        match number(last) {
            Some(e) if e >= start => Some(e),
            _ => return Range::Full,
        }
    };
    if start >= len {
        return Range::Unsatisfiable;
    }
    Range::Partial(start, end.map_or(len - 1, |e| e.min(len - 1)))
}

/// Content type from the extension (what py-ISPyB's `FileResponse` guessed for these).
fn content_type(path: &Path) -> &'static str {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "bmp" => "image/bmp",
        "tif" | "tiff" => "image/tiff",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "txt" | "log" | "lp" | "out" | "err" => "text/plain; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "html" | "htm" => "text/html; charset=utf-8",
        "json" => "application/json",
        "xml" => "application/xml",
        "pdf" => "application/pdf",
        "gz" => "application/gzip",
        "zip" => "application/zip",
        "h5" | "hdf5" | "nxs" => "application/x-hdf5",
        _ => "application/octet-stream",
    }
}

/// A file (already positioned) streamed `remaining` bytes at a time, in chunks.
struct FileBody {
    file: tokio::fs::File,
    remaining: u64,
    buf: Vec<u8>,
}

impl HttpBody for FileBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        let want = this.buf.len().min(usize::try_from(this.remaining).unwrap_or(usize::MAX));
        let mut read = ReadBuf::new(&mut this.buf[..want]);
        match Pin::new(&mut this.file).poll_read(cx, &mut read) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Ready(Ok(())) => {
                let got = read.filled();
                if got.is_empty() {
                    // The file shrank after its length was sent: end the response as broken.
                    this.remaining = 0;
                    return Poll::Ready(Some(Err(std::io::ErrorKind::UnexpectedEof.into())));
                }
                this.remaining -= got.len() as u64;
                Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::copy_from_slice(got)))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range(None, 10), Range::Full);
        assert_eq!(parse_range(Some("bytes=0-3"), 10), Range::Partial(0, 3));
        assert_eq!(parse_range(Some("bytes=5-"), 10), Range::Partial(5, 9));
        assert_eq!(parse_range(Some("bytes=-4"), 10), Range::Partial(6, 9));
        assert_eq!(parse_range(Some("bytes=-40"), 10), Range::Partial(0, 9));
        assert_eq!(parse_range(Some("bytes=8-100"), 10), Range::Partial(8, 9));
        assert_eq!(parse_range(Some("bytes=10-"), 10), Range::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 10), Range::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-"), 0), Range::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=4-2"), 10), Range::Full, "invalid ranges are ignored");
        assert_eq!(parse_range(Some("bytes=0-1,4-5"), 10), Range::Full, "several ranges: the whole file");
        assert_eq!(parse_range(Some("items=0-1"), 10), Range::Full);
        assert_eq!(parse_range(Some("bytes=a-b"), 10), Range::Full);
        assert_eq!(parse_range(Some("bytes=+1-2"), 10), Range::Full);
    }

    #[test]
    fn paths_are_checked_before_the_disk() {
        assert!(check_lexically("").is_err());
        assert!(check_lexically("data/x.png").is_err());
        assert!(check_lexically("/data/../etc/passwd").is_err());
        assert!(check_lexically("/data/a\0b").is_err());
        assert_eq!(check_lexically("/data/./a//b.png").unwrap(), PathBuf::from("/data/a/b.png"));
    }

    #[test]
    fn content_types_follow_extensions() {
        assert_eq!(content_type(Path::new("/d/x.PNG")), "image/png");
        assert_eq!(content_type(Path::new("/d/x.jpeg")), "image/jpeg");
        assert_eq!(content_type(Path::new("/d/x.mtz")), "application/octet-stream");
        assert_eq!(content_type(Path::new("/d/x")), "application/octet-stream");
    }
}
