//! Latency percentiles for load mode's summary, by the nearest-rank method:
//! the p-th percentile of n values is the value at rank ⌈p × n / 100⌉
//! (counting from 1) of the values in order. It is always a latency that
//! was measured, never one interpolated between two.

use std::time::Duration;

/// The nearest-rank `percent`-th percentile of `sorted` (ascending); `None`
/// when there are no values. 0 gives the smallest, 100 and above the largest.
pub fn nearest_rank<T: Copy>(sorted: &[T], percent: u32) -> Option<T> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let percent = percent.min(100) as usize;
    // ⌈percent × n / 100⌉ in integers, so 95 % of 20 is rank 19 exactly.
    let rank = (percent * n).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// The percentiles the summary gives, of one kind of latency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Percentiles {
    /// How many values they are taken over.
    pub runs: usize,
    pub p50: Duration,
    pub p95: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Percentiles {
    /// The percentiles of `values`, in any order; `None` for no values.
    pub fn of(values: &[Duration]) -> Option<Self> {
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        Some(Self {
            runs: sorted.len(),
            p50: nearest_rank(&sorted, 50)?,
            p95: nearest_rank(&sorted, 95)?,
            p99: nearest_rank(&sorted, 99)?,
            max: *sorted.last()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_table() {
        let one_to_ten: Vec<u32> = (1..=10).collect();
        let one_to_hundred: Vec<u32> = (1..=100).collect();
        let twenty: Vec<u32> = (1..=20).collect();
        let textbook = [15, 20, 35, 40, 50];
        let cases: &[(&[u32], u32, Option<u32>)] = &[
            (&[], 50, None),
            (&[], 99, None),
            (&[7], 0, Some(7)),
            (&[7], 50, Some(7)),
            (&[7], 99, Some(7)),
            (&[7], 100, Some(7)),
            (&[1, 2], 50, Some(1)),
            (&[1, 2], 51, Some(2)),
            (&one_to_ten, 50, Some(5)),
            (&one_to_ten, 95, Some(10)),
            (&one_to_ten, 99, Some(10)),
            (&one_to_ten, 10, Some(1)),
            (&one_to_ten, 11, Some(2)),
            (&one_to_hundred, 50, Some(50)),
            (&one_to_hundred, 95, Some(95)),
            (&one_to_hundred, 99, Some(99)),
            (&one_to_hundred, 100, Some(100)),
            (&one_to_hundred, 1, Some(1)),
            (&one_to_hundred, 0, Some(1)),
            (&one_to_hundred, 150, Some(100)),
            // 95 % of 20 is 19 exactly: rank 19, not 20.
            (&twenty, 95, Some(19)),
            (&twenty, 96, Some(20)),
            // The usual worked example of the method.
            (&textbook, 5, Some(15)),
            (&textbook, 30, Some(20)),
            (&textbook, 40, Some(20)),
            (&textbook, 50, Some(35)),
            (&textbook, 100, Some(50)),
        ];
        for (values, percent, want) in cases {
            assert_eq!(
                nearest_rank(values, *percent),
                *want,
                "p{percent} of {values:?}"
            );
        }
    }

    #[test]
    fn percentiles_sort_first_and_count_the_runs() {
        let ms = Duration::from_millis;
        let values: Vec<Duration> = [9, 1, 5, 3, 7, 2, 8, 4, 6, 10].map(ms).to_vec();
        let p = Percentiles::of(&values).unwrap();
        assert_eq!(
            p,
            Percentiles {
                runs: 10,
                p50: ms(5),
                p95: ms(10),
                p99: ms(10),
                max: ms(10)
            }
        );
        assert_eq!(Percentiles::of(&[]), None);
        // One slow run in a hundred shows at p99 and max, not at p95.
        let mut values = vec![ms(1); 99];
        values.push(ms(500));
        let p = Percentiles::of(&values).unwrap();
        assert_eq!((p.p50, p.p95, p.p99, p.max), (ms(1), ms(1), ms(1), ms(500)));
        values.push(ms(400));
        let p = Percentiles::of(&values).unwrap();
        assert_eq!((p.p95, p.p99, p.max), (ms(1), ms(400), ms(500)));
    }
}
