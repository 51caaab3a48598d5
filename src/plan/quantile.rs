//! Exact nearest-rank quantiles in memory that does not grow with the
//! number of values.
//!
//! Values are appended under a key (a clause, or a clause's window and hour)
//! to a [`ValueStore`]: a byte buffer for small runs, an unnamed temporary
//! file for streamed ones. The quantiles are then found by *radix
//! selection* over each value's order-preserving 64-bit image: every pass
//! reads the store once and, for every wanted rank, counts the candidates
//! by their next 8 bits; the bucket holding the rank becomes the new
//! prefix. Eight passes at most (fewer once a candidate set holds a single
//! distinct value); the memory is 256 counters per wanted rank, whatever
//! the number of values.
//!
//! The answer is bit for bit the value that sorting by [`f64::total_cmp`]
//! puts at the nearest rank: the image orders exactly as `total_cmp` does,
//! and the selection never does arithmetic on the values.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Bytes of one stored value: a `u32` key and the `u64` image, little-endian.
const RECORD: usize = 12;
/// Wanted ranks resolved together in one series of passes: bounds the
/// counters' memory (256 × 8 bytes each) to 8 MiB.
const RANKS_PER_BATCH: usize = 4096;

/// The 1-based nearest rank of quantile `q` among `n` values: the smallest
/// rank whose share of the values reaches `q` (at least 1, at most `n`).
pub fn nearest_rank(n: u64, q: f64) -> u64 {
    ((q * n as f64).ceil().max(1.0) as u64).min(n)
}

/// The image of `v` in an unsigned order that agrees with `f64::total_cmp`.
fn ordered(v: f64) -> u64 {
    let bits = v.to_bits();
    if bits >> 63 == 1 { !bits } else { bits | 1 << 63 }
}

/// The value whose image is `image`.
fn from_ordered(image: u64) -> f64 {
    let bits = if image >> 63 == 1 { image & !(1 << 63) } else { !image };
    f64::from_bits(bits)
}

enum Store {
    Memory(Vec<u8>),
    File(BufWriter<File>),
}

/// Keyed values kept for their quantiles, in memory or spilled to disk.
pub struct ValueStore {
    store: Store,
    /// Values per key.
    counts: Vec<u64>,
}

/// One wanted rank being narrowed down.
struct Rank {
    /// The rank (1-based) among the candidates that share `prefix`.
    rank: u64,
    /// The leading `known` bits of the answer's image.
    prefix: u64,
    known: u32,
    answer: Option<u64>,
}

/// Counts of one pass for one rank.
struct PassCounts {
    buckets: [u64; 256],
    min: u64,
    max: u64,
}

impl ValueStore {
    /// A store in memory: for results already held in memory.
    pub fn in_memory() -> ValueStore {
        ValueStore {
            store: Store::Memory(Vec::new()),
            counts: Vec::new(),
        }
    }

    /// A store in an unnamed temporary file created in `dir` (removed by the
    /// system when the store is dropped, even if the process dies).
    pub fn spill_in(dir: &Path) -> io::Result<ValueStore> {
        let file = tempfile::tempfile_in(dir)?;
        Ok(ValueStore {
            store: Store::File(BufWriter::with_capacity(1 << 16, file)),
            counts: Vec::new(),
        })
    }

    /// Adds `value` under `key`.
    pub fn push(&mut self, key: u32, value: f64) -> io::Result<()> {
        let k = key as usize;
        if k >= self.counts.len() {
            self.counts.resize(k + 1, 0);
        }
        self.counts[k] += 1;
        let mut record = [0u8; RECORD];
        record[..4].copy_from_slice(&key.to_le_bytes());
        record[4..].copy_from_slice(&ordered(value).to_le_bytes());
        match &mut self.store {
            Store::Memory(bytes) => {
                bytes.extend_from_slice(&record);
                Ok(())
            }
            Store::File(w) => w.write_all(&record),
        }
    }

    /// Values stored under `key`.
    pub fn count(&self, key: u32) -> u64 {
        self.counts.get(key as usize).copied().unwrap_or(0)
    }

    /// For every key up to the largest pushed, the nearest-rank quantiles
    /// `qs` of its values (in the order of `qs`), or `None` for a key
    /// without values.
    pub fn quantiles(self, qs: &[f64]) -> io::Result<Vec<Option<Vec<f64>>>> {
        let selected = self.order_statistics(|_, n| qs.iter().map(|&q| nearest_rank(n, q)).collect())?;
        Ok(selected
            .into_iter()
            .map(|values| (!values.is_empty()).then_some(values))
            .collect())
    }

    /// For every key up to the largest pushed, the values at the 1-based
    /// ranks (in increasing [`f64::total_cmp`] order) that `wanted(key,
    /// count)` lists for it, in that order; `wanted` is asked only for keys
    /// with values, and ranks outside `1..=count` are clamped into it.
    pub fn order_statistics(self, mut wanted: impl FnMut(u32, u64) -> Vec<u64>) -> io::Result<Vec<Vec<f64>>> {
        let mut ranks: Vec<Rank> = Vec::new();
        // `first[k]..first[k + 1]`: the ranks wanted of key k.
        let mut first = Vec::with_capacity(self.counts.len() + 1);
        for (k, &n) in self.counts.iter().enumerate() {
            first.push(ranks.len());
            if n > 0 {
                ranks.extend(wanted(k as u32, n).into_iter().map(|rank| Rank {
                    rank: rank.clamp(1, n),
                    prefix: 0,
                    known: 0,
                    answer: None,
                }));
            }
        }
        first.push(ranks.len());
        let mut source = match self.store {
            Store::Memory(bytes) => Source::Memory(bytes),
            Store::File(w) => {
                let mut file = w.into_inner().map_err(|e| e.into_error())?;
                file.flush()?;
                Source::File(file)
            }
        };
        let mut lo = 0;
        while lo < ranks.len() {
            let hi = (lo + RANKS_PER_BATCH).min(ranks.len());
            resolve(&mut ranks, lo..hi, &first, &mut source)?;
            lo = hi;
        }
        Ok((0..self.counts.len())
            .map(|k| {
                ranks[first[k]..first[k + 1]]
                    .iter()
                    .map(|r| from_ordered(r.answer.unwrap_or(r.prefix)))
                    .collect()
            })
            .collect())
    }
}

enum Source {
    Memory(Vec<u8>),
    File(File),
}

impl Source {
    /// Calls `each(key, image)` for every stored value, in storage order.
    fn scan(&mut self, mut each: impl FnMut(u32, u64)) -> io::Result<()> {
        let mut record = |r: &[u8]| {
            let key = u32::from_le_bytes([r[0], r[1], r[2], r[3]]);
            let mut image = [0u8; 8];
            image.copy_from_slice(&r[4..RECORD]);
            each(key, u64::from_le_bytes(image));
        };
        match self {
            Source::Memory(bytes) => {
                bytes.chunks_exact(RECORD).for_each(record);
                Ok(())
            }
            Source::File(file) => {
                file.seek(SeekFrom::Start(0))?;
                let mut reader = BufReader::with_capacity(1 << 20, &*file);
                let mut buf = vec![0u8; RECORD * 8192];
                loop {
                    let filled = read_full(&mut reader, &mut buf)?;
                    if filled % RECORD != 0 {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "the value store ends inside a record",
                        ));
                    }
                    buf[..filled].chunks_exact(RECORD).for_each(&mut record);
                    if filled < buf.len() {
                        return Ok(());
                    }
                }
            }
        }
    }
}

/// Reads until `buf` is full or the reader is exhausted; returns the bytes read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Narrows the ranks `batch` down to their answers, one pass over the
/// store per 8 bits.
fn resolve(ranks: &mut [Rank], batch: std::ops::Range<usize>, first: &[usize], source: &mut Source) -> io::Result<()> {
    let lo = batch.start;
    let mut counts: Vec<PassCounts> = batch
        .clone()
        .map(|_| PassCounts {
            buckets: [0; 256],
            min: u64::MAX,
            max: 0,
        })
        .collect();
    while ranks[batch.clone()].iter().any(|r| r.answer.is_none()) {
        for c in &mut counts {
            c.buckets = [0; 256];
            c.min = u64::MAX;
            c.max = 0;
        }
        source.scan(|key, image| {
            let k = key as usize;
            let (Some(&from), Some(&to)) = (first.get(k), first.get(k + 1)) else {
                return;
            };
            for i in from.max(batch.start)..to.min(batch.end) {
                let r = &ranks[i];
                if r.answer.is_some() || (r.known > 0 && image >> (64 - r.known) != r.prefix) {
                    continue;
                }
                let c = &mut counts[i - lo];
                c.buckets[((image >> (56 - r.known)) & 0xff) as usize] += 1;
                c.min = c.min.min(image);
                c.max = c.max.max(image);
            }
        })?;
        for i in batch.clone() {
            let r = &mut ranks[i];
            if r.answer.is_some() {
                continue;
            }
            let c = &counts[i - lo];
            if c.min == c.max {
                // One distinct value left: it is the answer.
                r.answer = Some(c.min);
                continue;
            }
            let mut below = 0;
            let mut chosen = 255;
            for (b, &n) in c.buckets.iter().enumerate() {
                if below + n >= r.rank {
                    chosen = b;
                    break;
                }
                below += n;
            }
            r.rank -= below;
            r.prefix = r.prefix << 8 | chosen as u64;
            r.known += 8;
            if r.known == 64 {
                r.answer = Some(r.prefix);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The reference: sort by `total_cmp`, take the nearest rank.
    fn sorted_rank(values: &[f64], q: f64) -> f64 {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        v[nearest_rank(v.len() as u64, q) as usize - 1]
    }

    #[test]
    fn the_image_orders_as_total_cmp() {
        let mut v = vec![
            f64::NEG_INFINITY,
            -1e300,
            -1.0,
            -f64::MIN_POSITIVE,
            -5e-324,
            -0.0,
            0.0,
            5e-324,
            f64::MIN_POSITIVE,
            0.1,
            1.0,
            1e300,
            f64::INFINITY,
        ];
        let images: Vec<u64> = v.iter().map(|&x| ordered(x)).collect();
        assert!(images.windows(2).all(|w| w[0] < w[1]), "{images:x?}");
        for x in &v {
            assert_eq!(from_ordered(ordered(*x)).to_bits(), x.to_bits());
        }
        v.reverse();
        v.sort_by(f64::total_cmp);
        assert_eq!(v[5].to_bits(), (-0.0f64).to_bits());
    }

    #[test]
    fn hand_worked_nearest_ranks() {
        // 20 values 0..=19: p05 is rank 1, p50 rank 10, p95 rank 19.
        assert_eq!(nearest_rank(20, 0.05), 1);
        assert_eq!(nearest_rank(20, 0.5), 10);
        assert_eq!(nearest_rank(20, 0.95), 19);
        assert_eq!(nearest_rank(1, 0.05), 1);
        assert_eq!(nearest_rank(3, 1.0), 3);
        let mut store = ValueStore::in_memory();
        for v in (0..20).rev() {
            store.push(2, f64::from(v)).unwrap();
        }
        let q = store.quantiles(&[0.05, 0.5, 0.95]).unwrap();
        assert_eq!(q, vec![None, None, Some(vec![0.0, 9.0, 18.0])]);
    }

    #[test]
    fn a_spilled_store_gives_the_same_answers() {
        let dir = tempfile::tempdir().unwrap();
        let mut memory = ValueStore::in_memory();
        let mut file = ValueStore::spill_in(dir.path()).unwrap();
        // Enough values to fill several read buffers, over three keys.
        for i in 0..100_000u32 {
            let v = f64::from(i.wrapping_mul(2_654_435_761) % 10_007) / 7.0 - 300.0;
            memory.push(i % 3, v).unwrap();
            file.push(i % 3, v).unwrap();
        }
        let qs = [0.05, 0.5, 0.95, 1.0];
        assert_eq!(memory.quantiles(&qs).unwrap(), file.quantiles(&qs).unwrap());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "the spill file has no name"
        );
    }

    proptest! {
        #[test]
        fn radix_selection_equals_sorting(
            values in prop::collection::vec(
                prop_oneof![
                    any::<f64>().prop_filter("not NaN", |v| !v.is_nan()),
                    (0u32..5).prop_map(f64::from),
                    Just(-0.0),
                ],
                1..300,
            ),
            keys in 1u32..4,
            q in 0.0f64..=1.0,
        ) {
            let mut store = ValueStore::in_memory();
            let mut by_key: Vec<Vec<f64>> = vec![Vec::new(); keys as usize];
            for (i, &v) in values.iter().enumerate() {
                let k = i as u32 % keys;
                store.push(k, v).unwrap();
                by_key[k as usize].push(v);
            }
            let got = store.quantiles(&[0.05, q, 0.95]).unwrap();
            for (k, vals) in by_key.iter().enumerate() {
                match got.get(k).and_then(Option::as_ref) {
                    None => prop_assert!(vals.is_empty()),
                    Some(g) => {
                        for (x, qq) in g.iter().zip([0.05, q, 0.95]) {
                            prop_assert_eq!(x.to_bits(), sorted_rank(vals, qq).to_bits());
                        }
                    }
                }
            }
        }
    }
}
