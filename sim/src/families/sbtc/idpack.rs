//! The withdrawal ids in a sweep's OP_RETURN, packed as sBTC's `idpack` packs them
//! (stacks-network/sbtc @ a291cdd2, `sbtc/src/idpack/`): sorted ids cut into segments where a
//! cut saves bytes (`BitmapSegmenter`), each segment written as its offset (LEB128; after the
//! first, the distance from the previous segment's largest id), its bitmap's length (LEB128)
//! and the bitmap (bit `k` set: id `offset + k + 1` is in the segment).

/// The unsigned LEB128 encoding of `value`.
fn leb128(mut value: u64, out: &mut Vec<u8>) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn leb128_size(value: u64) -> usize {
    let mut out = Vec::new();
    leb128(value, &mut out);
    out.len()
}

/// Where the segments start: indices into `ids` (sorted, unique), `BitmapSegmenter`'s greedy
/// choice (`find_segment_boundaries`), with the end as the last boundary.
fn boundaries(ids: &[u64]) -> Vec<usize> {
    let mut cuts = vec![0];
    let Some(&first) = ids.first() else {
        cuts.push(0);
        return cuts;
    };
    let mut offset = first;
    for (pos, pair) in ids.windows(2).enumerate() {
        let (prev, next) = (pair[0], pair[1]);
        let current = (prev - offset).div_ceil(8);
        let combined = (next - offset).div_ceil(8);
        let if_combined = leb128_size(combined) + combined as usize;
        let if_split = leb128_size(current) + current as usize + leb128_size(next - prev) + 1;
        if if_split < if_combined {
            cuts.push(pos + 1);
            offset = next;
        }
    }
    cuts.push(ids.len());
    cuts
}

/// `ids` (sorted, unique) packed; empty for none.
pub(crate) fn encode(ids: &[u64]) -> Vec<u8> {
    let mut out = Vec::new();
    if ids.is_empty() {
        return out;
    }
    let mut last_max = 0;
    for cut in boundaries(ids).windows(2) {
        let segment = &ids[cut[0]..cut[1]];
        encode_segment(segment, last_max, &mut out);
        last_max = segment[segment.len() - 1];
    }
    out
}

/// One segment (sorted, unique, not empty), its offset written as the distance from
/// `last_max` (`codec/encoder.rs`).
fn encode_segment(segment: &[u64], last_max: u64, out: &mut Vec<u8>) {
    let (offset, max) = (segment[0], segment[segment.len() - 1]);
    let mut bitmap = vec![0u8; (max - offset).div_ceil(8) as usize];
    for id in &segment[1..] {
        let bit = id - offset - 1;
        bitmap[(bit / 8) as usize] |= 1 << (bit % 8);
    }
    leb128(offset.saturating_sub(last_max), out);
    leb128(bitmap.len() as u64, out);
    out.extend_from_slice(&bitmap);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(segment: &[u64]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_segment(segment, 0, &mut out);
        out
    }

    /// `sbtc/src/idpack/codec/encoder.rs`'s cases (each one segment).
    #[test]
    fn encodes_as_sbtcs_encoder_tests() {
        assert_eq!(one(&[10]), [10, 0]);
        assert_eq!(one(&[10, 11, 12]), [10, 1, 0b0000_0011]);
        assert_eq!(one(&[10, 11, 18]), [10, 1, 0b1000_0001]);
        assert_eq!(one(&[10, 11, 18, 26]), [10, 2, 0b1000_0001, 0b1000_0000]);
        assert_eq!(one(&[0, 8, 16, 24, 32]), [0, 4, 0x80, 0x80, 0x80, 0x80]);
        let mut max_first = vec![0, 32];
        max_first.extend([0; 31]);
        max_first.push(0b0100_0000);
        assert_eq!(one(&[0, 255]), max_first);
        // The whole pipeline: the first withdrawals a deployment numbers.
        assert_eq!(encode(&[1]), [1, 0]);
        assert_eq!(encode(&[1, 2, 3]), [1, 1, 0b0000_0011]);
    }

    /// `sbtc/src/idpack/segmenters/bitmap.rs`'s boundary and segment-count cases.
    #[test]
    fn cuts_where_sbtcs_segmenter_cuts() {
        let cases: &[(&[u64], &[usize])] = &[
            (&[10], &[0, 1]),
            (&[10, 11, 12, 13, 14], &[0, 5]),
            (&[10, 20, 30, 40, 50], &[0, 5]),
            (&[10, 11, 12, 1000, 1001, 1002], &[0, 3, 6]),
            (&[1, 1_000_000], &[0, 1, 2]),
            (&[1, 2, 3, 100_000, 100_001], &[0, 3, 5]),
            (
                &[
                    10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 100, 101, 102, 103, 104, 105, 106, 107,
                    108, 109,
                ],
                &[0, 10, 20],
            ),
        ];
        for (ids, cuts) in cases {
            assert_eq!(boundaries(ids), *cuts, "{ids:?}");
        }
        let counts: &[(&[u64], usize)] = &[
            (&[1, 1_000_000], 2),
            (&[1, 2, 3, 4, 5], 1),
            (&[1, 2, 50_000, 50_001], 2),
            (&[10, 26], 1),
            (&[10, 27], 2),
            (&[10_000, 10_024], 2),
            (&[10_000, 10_025], 2),
            (&[1, 1_000_000, 1_000_001], 2),
            (&[1, 2, 1_000_000, 1_000_001], 2),
            (&[1, 1_000_000, 1_000_001, 2_000_000], 3),
            (&[1, 1_000, 10_000, 10_001, 100_000], 4),
            (&[1, 11, 21, 31, 41, 51, 61, 71, 81, 91], 1),
            (&[1, 2, 3, 10_000, 20_000, 30_000], 4),
        ];
        for (ids, count) in counts {
            assert_eq!(boundaries(ids).len() - 1, *count, "{ids:?}");
        }
    }
}
