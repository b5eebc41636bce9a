//! Server-side statistics of a set of movies: distributions with percentiles, fixed-width
//! histograms and throughput (movies per hour). Pure functions over values already read, so
//! they are tested without a database and cost nothing per movie beyond a sort.

use chrono::{NaiveDateTime, Timelike};

/// Summary of one quantity over the movies that have it.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Distribution {
    /// Movies with a value.
    pub count: u64,
    /// Smallest value.
    pub min: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
    /// Arithmetic mean.
    pub mean: Option<f64>,
    /// Median (50th percentile).
    pub median: Option<f64>,
    /// 10th percentile.
    pub p10: Option<f64>,
    /// 25th percentile (first quartile).
    pub p25: Option<f64>,
    /// 75th percentile (third quartile).
    pub p75: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
}

/// The `p`-th percentile (0 to 100) of sorted values, by linear interpolation between the
/// closest ranks (numpy's default): rank `p/100 × (n − 1)`. `None` for no values.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let rank = (p / 100.0).clamp(0.0, 1.0) * (n - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    let frac = rank - lo as f64;
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * frac)
}

/// Distribution of the finite values (others are ignored).
pub fn distribution(values: impl IntoIterator<Item = f64>) -> Distribution {
    let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return Distribution::default();
    }
    v.sort_by(f64::total_cmp);
    let sum: f64 = v.iter().sum();
    Distribution {
        count: v.len() as u64,
        min: v.first().copied(),
        max: v.last().copied(),
        mean: Some(sum / v.len() as f64),
        median: percentile(&v, 50.0),
        p10: percentile(&v, 10.0),
        p25: percentile(&v, 25.0),
        p75: percentile(&v, 75.0),
        p90: percentile(&v, 90.0),
    }
}

/// One bin of a histogram: values in `[start, end)` (the last bin also holds `end`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Bin {
    /// Lower edge (included).
    pub start: f64,
    /// Upper edge (excluded, except for the last bin).
    pub end: f64,
    /// Movies in the bin.
    pub count: u64,
}

/// A histogram of one quantity.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Histogram {
    /// Lower edge of the first bin.
    pub min: Option<f64>,
    /// Upper edge of the last bin.
    pub max: Option<f64>,
    /// Width of every bin.
    #[serde(rename = "binWidth")]
    pub bin_width: Option<f64>,
    /// The bins, in order.
    pub bins: Vec<Bin>,
    /// Values below `min`.
    pub below: u64,
    /// Values above `max`.
    pub above: u64,
    /// Movies with a value (in bins, below or above).
    pub count: u64,
    /// Movies without a value (not processed yet, or unparsable).
    pub missing: u64,
}

/// How the bins are laid out: a range (by default that of the values) and a number of bins or
/// a bin width (the width wins).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BinSpec {
    /// Lower edge; default the smallest value.
    pub min: Option<f64>,
    /// Upper edge; default the largest value.
    pub max: Option<f64>,
    /// Number of bins (default 20).
    pub bins: Option<u32>,
    /// Width of a bin.
    pub width: Option<f64>,
}

/// Most bins a histogram may have.
pub const MAX_BINS: u32 = 1000;

/// Histogram of the finite values; `missing` counts the movies without one.
pub fn histogram(values: &[f64], missing: u64, spec: BinSpec) -> Histogram {
    let finite: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    let missing = missing + (values.len() - finite.len()) as u64;
    let data_min = finite.iter().copied().reduce(f64::min);
    let data_max = finite.iter().copied().reduce(f64::max);
    let (Some(min), Some(max)) = (spec.min.or(data_min), spec.max.or(data_max)) else {
        return Histogram {
            min: spec.min,
            max: spec.max,
            bin_width: spec.width,
            bins: Vec::new(),
            below: 0,
            above: 0,
            count: finite.len() as u64,
            missing,
        };
    };
    let max = if max < min { min } else { max };
    let (n, width) = match spec.width.filter(|w| w.is_finite() && *w > 0.0) {
        Some(w) => (((max - min) / w).ceil().clamp(1.0, f64::from(MAX_BINS)) as usize, w),
        None => {
            let n = spec.bins.unwrap_or(20).clamp(1, MAX_BINS) as usize;
            let w = if max > min { (max - min) / n as f64 } else { 1.0 };
            (n, w)
        }
    };
    let top = min + width * n as f64;
    let mut counts = vec![0u64; n];
    let (mut below, mut above) = (0, 0);
    for &x in &finite {
        if x < min {
            below += 1;
        } else if x > top {
            above += 1;
        } else {
            let i = (((x - min) / width).floor() as usize).min(n - 1);
            counts[i] += 1;
        }
    }
    let bins = counts
        .into_iter()
        .enumerate()
        .map(|(i, count)| Bin { start: min + width * i as f64, end: min + width * (i + 1) as f64, count })
        .collect();
    Histogram {
        min: Some(min),
        max: Some(top),
        bin_width: Some(width),
        bins,
        below,
        above,
        count: finite.len() as u64,
        missing,
    }
}

/// Movies started in one clock hour.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct HourCount {
    /// Start of the hour, `2024-05-01T09:00:00`.
    #[schema(value_type = String)]
    pub hour: crate::types::DateTime,
    /// Movies recorded in that hour.
    pub movies: u64,
}

/// Movies per clock hour (hours without movies included, so the list plots as it is) and
/// the overall rate: movies per hour between the first and the last movie (`None` for fewer
/// than two movies or a span under a minute).
pub fn throughput(times: &[NaiveDateTime]) -> (Vec<HourCount>, Option<f64>) {
    let mut t: Vec<NaiveDateTime> = times.to_vec();
    t.sort();
    let (Some(first), Some(last)) = (t.first().copied(), t.last().copied()) else { return (Vec::new(), None) };
    let hour_of = |d: NaiveDateTime| d.with_minute(0).and_then(|d| d.with_second(0)).and_then(|d| d.with_nanosecond(0));
    let (Some(h0), Some(h1)) = (hour_of(first), hour_of(last)) else { return (Vec::new(), None) };
    let hours = ((h1 - h0).num_hours().max(0) + 1) as usize;
    let mut counts = vec![0u64; hours];
    for d in &t {
        if let Some(h) = hour_of(*d) {
            let i = (h - h0).num_hours().clamp(0, hours as i64 - 1) as usize;
            counts[i] += 1;
        }
    }
    let list = counts
        .into_iter()
        .enumerate()
        .map(|(i, movies)| HourCount {
            hour: crate::types::DateTime(Some(h0 + chrono::Duration::hours(i as i64))),
            movies,
        })
        .collect();
    let span = (last - first).num_seconds() as f64 / 3600.0;
    let rate = (t.len() >= 2 && span >= 1.0 / 60.0).then(|| t.len() as f64 / span);
    (list, rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&v, 50.0), Some(2.5));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&v, 100.0), Some(4.0));
        assert!((percentile(&v, 25.0).unwrap() - 1.75).abs() < 1e-12);
        assert_eq!(percentile(&[], 50.0), None);
        let d = distribution([3.0, f64::NAN, 1.0, 2.0]);
        assert_eq!((d.count, d.min, d.max, d.median, d.mean), (3, Some(1.0), Some(3.0), Some(2.0), Some(2.0)));
    }

    #[test]
    fn histograms_count_every_value_once() {
        let h = histogram(
            &[0.0, 0.5, 1.0, 1.5, 2.0, 5.0, -1.0],
            2,
            BinSpec { min: Some(0.0), max: Some(2.0), bins: Some(2), width: None },
        );
        assert_eq!(h.bins.iter().map(|b| b.count).collect::<Vec<_>>(), [2, 3]);
        assert_eq!((h.below, h.above, h.count, h.missing), (1, 1, 7, 2));
        let h = histogram(&[1.0, 1.0], 0, BinSpec::default());
        assert_eq!(h.bins.iter().map(|b| b.count).sum::<u64>(), 2);
        let h = histogram(&[0.0, 2.5], 0, BinSpec { width: Some(1.0), ..Default::default() });
        assert_eq!(h.bins.len(), 3);
        assert_eq!(h.bins.iter().map(|b| b.count).collect::<Vec<_>>(), [1, 0, 1]);
        assert!(histogram(&[], 3, BinSpec::default()).bins.is_empty());
    }

    #[test]
    fn throughput_per_hour() {
        let d = |h, m| chrono::NaiveDate::from_ymd_opt(2024, 5, 1).unwrap().and_hms_opt(h, m, 0).unwrap();
        let (hours, rate) = throughput(&[d(9, 10), d(9, 50), d(11, 10)]);
        assert_eq!(hours.iter().map(|h| h.movies).collect::<Vec<_>>(), [2, 0, 1]);
        assert_eq!(rate, Some(1.5));
        assert_eq!(throughput(&[d(9, 0)]).1, None);
    }
}
