//! `--shard auto`: which shard this process is, read from the variables a
//! cluster scheduler sets in each task of an array job. Pure: the caller
//! passes a lookup (the process environment in the CLI, a table in tests).
//!
//! **Slurm job arrays** (`sbatch --array=A-B[:S][%M]`). Slurm sets, in every
//! task: `SLURM_ARRAY_TASK_ID` (this task's index), `SLURM_ARRAY_TASK_COUNT`
//! (the number of tasks), `SLURM_ARRAY_TASK_MIN` and `SLURM_ARRAY_TASK_MAX`
//! (the smallest and largest index) and `SLURM_ARRAY_TASK_STEP` (the `:S` of
//! the specification, 1 without one; sbatch(1) and slurmctld's
//! `_create_job_array`). Indices need not start at 0 or 1 (`--array=5-8`),
//! and a step skips indices (`--array=1-7:2` is 1, 3, 5, 7), so the shard is
//! the task's position in the array: `(ID - MIN) / STEP + 1` of `COUNT`.
//! That is only sound for an array that is one range with a step, i.e.
//! `MAX = MIN + (COUNT - 1) × STEP`; a list such as `--array=1,3,5,7` (step
//! 1, yet gaps) cannot be read from the variables and is refused, with the
//! range to write instead.
//!
//! **Kubernetes Indexed Jobs** (`completionMode: Indexed`). Kubernetes sets
//! `JOB_COMPLETION_INDEX` (0 to `completions - 1`) but not the number of
//! completions, so the Job's manifest sets [`SHARD_COUNT_VAR`] to the same
//! number as `completions`. The shard is `JOB_COMPLETION_INDEX + 1` of it.
//!
//! Anything missing, malformed, contradictory or ambiguous (both kinds of
//! variables at once) is an error naming the variable and what was expected.

use std::fmt;

use super::shard::ShardSpec;

/// The variable that gives a Kubernetes Indexed Job's shard count (set it
/// to the Job's `completions`).
pub const SHARD_COUNT_VAR: &str = "SLAPLAN_SHARD_COUNT";
/// The index Kubernetes gives each pod of an Indexed Job.
pub const COMPLETION_INDEX_VAR: &str = "JOB_COMPLETION_INDEX";
const SLURM_ID: &str = "SLURM_ARRAY_TASK_ID";
const SLURM_COUNT: &str = "SLURM_ARRAY_TASK_COUNT";
const SLURM_MIN: &str = "SLURM_ARRAY_TASK_MIN";
const SLURM_MAX: &str = "SLURM_ARRAY_TASK_MAX";
const SLURM_STEP: &str = "SLURM_ARRAY_TASK_STEP";
const SLURM_VARS: [&str; 5] = [SLURM_ID, SLURM_COUNT, SLURM_MIN, SLURM_MAX, SLURM_STEP];

/// Where the shard was read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ArrayJob {
    /// A Slurm array task with this `SLURM_ARRAY_TASK_ID`.
    Slurm {
        /// The task's array index.
        task_id: u64,
    },
    /// A Kubernetes Indexed Job pod with this `JOB_COMPLETION_INDEX`.
    Kubernetes {
        /// The pod's completion index.
        completion_index: u64,
    },
}

impl fmt::Display for ArrayJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArrayJob::Slurm { task_id } => write!(f, "Slurm array task {task_id}"),
            ArrayJob::Kubernetes { completion_index } => {
                write!(f, "Kubernetes Indexed Job completion index {completion_index}")
            }
        }
    }
}

/// `--shard auto` could not tell which shard this is.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ArrayJobError {
    /// None of the variables is set.
    #[error(
        "--shard auto: not inside a Slurm job array or a Kubernetes Indexed Job: expected {SLURM_ID} (with {SLURM_COUNT}, {SLURM_MIN}, {SLURM_MAX}, {SLURM_STEP}), or {COMPLETION_INDEX_VAR} with {SHARD_COUNT_VAR}; outside such a job, give the shard as --shard i/N"
    )]
    NotInArrayJob,
    /// Both Slurm's and Kubernetes' variables are set.
    #[error(
        "--shard auto: both Slurm array variables ({slurm}) and {COMPLETION_INDEX_VAR} are set: cannot tell which scheduler this task belongs to; unset one, or give the shard as --shard i/N"
    )]
    Ambiguous {
        /// The Slurm variables found.
        slurm: String,
    },
    /// A variable the scheduler should have set is absent.
    #[error("--shard auto: {var} is not set: {why}")]
    Missing {
        /// The variable.
        var: &'static str,
        /// What it is and who sets it.
        why: &'static str,
    },
    /// A variable is not a whole number in range.
    #[error("--shard auto: {var}={value:?}: expected {expected}")]
    Malformed {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// The variables contradict each other or describe an array this
    /// process cannot place itself in.
    #[error("--shard auto: {0}")]
    Inconsistent(String),
}

/// The shard this process is, from `var` (a lookup of environment
/// variables), and the scheduler it came from.
pub fn shard_from_env(var: impl Fn(&str) -> Option<String>) -> Result<(ShardSpec, ArrayJob), ArrayJobError> {
    let slurm: Vec<&str> = SLURM_VARS.into_iter().filter(|v| var(v).is_some()).collect();
    let k8s = var(COMPLETION_INDEX_VAR).is_some() || var(SHARD_COUNT_VAR).is_some();
    match (slurm.is_empty(), k8s) {
        (true, false) => Err(ArrayJobError::NotInArrayJob),
        (false, true) if var(COMPLETION_INDEX_VAR).is_some() => Err(ArrayJobError::Ambiguous {
            slurm: slurm.join(", "),
        }),
        (false, _) => slurm_shard(&var),
        (true, true) => kubernetes_shard(&var),
    }
}

fn number(var: &impl Fn(&str) -> Option<String>, name: &'static str, why: &'static str) -> Result<u64, ArrayJobError> {
    let value = var(name).ok_or(ArrayJobError::Missing { var: name, why })?;
    value.parse::<u64>().map_err(|_| ArrayJobError::Malformed {
        var: name,
        value,
        expected: "a whole number (0 or more, digits only)",
    })
}

fn slurm_shard(var: &impl Fn(&str) -> Option<String>) -> Result<(ShardSpec, ArrayJob), ArrayJobError> {
    const SET_BY_SLURM: &str =
        "Slurm sets it in every task of a job array (sbatch --array); did the job script unset it?";
    let id = number(var, SLURM_ID, SET_BY_SLURM)?;
    let count = number(var, SLURM_COUNT, SET_BY_SLURM)?;
    let min = number(var, SLURM_MIN, SET_BY_SLURM)?;
    let max = number(var, SLURM_MAX, SET_BY_SLURM)?;
    let step = number(var, SLURM_STEP, SET_BY_SLURM)?;
    let positive = |name: &'static str, v: u64| {
        if v == 0 {
            Err(ArrayJobError::Malformed {
                var: name,
                value: "0".into(),
                expected: "at least 1",
            })
        } else {
            Ok(())
        }
    };
    positive(SLURM_COUNT, count)?;
    positive(SLURM_STEP, step)?;
    if min > max {
        return Err(ArrayJobError::Inconsistent(format!(
            "{SLURM_MIN}={min} is larger than {SLURM_MAX}={max}"
        )));
    }
    if id < min || id > max {
        return Err(ArrayJobError::Inconsistent(format!(
            "{SLURM_ID}={id} is outside the array's range {min}..={max} ({SLURM_MIN}, {SLURM_MAX})"
        )));
    }
    let span = (count - 1).checked_mul(step).and_then(|s| s.checked_add(min));
    if span != Some(max) {
        return Err(ArrayJobError::Inconsistent(format!(
            "the array is not one range with a step: {count} task(s) from {min} in steps of {step} would end at {}, but {SLURM_MAX}={max}; submit it as --array={min}-{max}[:STEP] (a list such as --array=1,3,5,7 has step 1 for Slurm: write --array=1-7:2)",
            span.map_or_else(|| "an index too large".into(), |s| s.to_string())
        )));
    }
    if (id - min) % step != 0 {
        return Err(ArrayJobError::Inconsistent(format!(
            "{SLURM_ID}={id} is not {SLURM_MIN}={min} plus a multiple of {SLURM_STEP}={step}"
        )));
    }
    let spec = ShardSpec {
        index: (id - min) / step + 1,
        count,
    };
    Ok((spec, ArrayJob::Slurm { task_id: id }))
}

fn kubernetes_shard(var: &impl Fn(&str) -> Option<String>) -> Result<(ShardSpec, ArrayJob), ArrayJobError> {
    let index = number(
        var,
        COMPLETION_INDEX_VAR,
        "Kubernetes sets it in each pod of a Job with completionMode: Indexed",
    )?;
    let count = number(
        var,
        SHARD_COUNT_VAR,
        "set it in the Job's manifest to the same number as spec.completions (Kubernetes does not tell a pod how many completions there are)",
    )?;
    if count == 0 {
        return Err(ArrayJobError::Malformed {
            var: SHARD_COUNT_VAR,
            value: "0".into(),
            expected: "at least 1 (the Job's completions)",
        });
    }
    if index >= count {
        return Err(ArrayJobError::Inconsistent(format!(
            "{COMPLETION_INDEX_VAR}={index} is not below {SHARD_COUNT_VAR}={count}: set {SHARD_COUNT_VAR} to the Job's spec.completions"
        )));
    }
    let spec = ShardSpec {
        index: index + 1,
        count,
    };
    Ok((
        spec,
        ArrayJob::Kubernetes {
            completion_index: index,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    fn slurm(id: &str, count: &str, min: &str, max: &str, step: &str) -> Result<(ShardSpec, ArrayJob), ArrayJobError> {
        shard_from_env(env(&[
            (SLURM_ID, id),
            (SLURM_COUNT, count),
            (SLURM_MIN, min),
            (SLURM_MAX, max),
            (SLURM_STEP, step),
        ]))
    }

    fn spec(index: u64, count: u64) -> ShardSpec {
        ShardSpec { index, count }
    }

    #[test]
    fn slurm_arrays_from_zero_from_one_offset_and_stepped() {
        // --array=0-3: tasks 0..3 are shards 1..4 of 4.
        for id in 0..4u64 {
            let (s, _) = slurm(&id.to_string(), "4", "0", "3", "1").unwrap();
            assert_eq!(s, spec(id + 1, 4));
        }
        // --array=1-4
        assert_eq!(slurm("1", "4", "1", "4", "1").unwrap().0, spec(1, 4));
        assert_eq!(slurm("4", "4", "1", "4", "1").unwrap().0, spec(4, 4));
        // --array=100-102
        assert_eq!(slurm("101", "3", "100", "102", "1").unwrap().0, spec(2, 3));
        // --array=1-7:2 is 1, 3, 5, 7.
        let shards: Vec<u64> = ["1", "3", "5", "7"]
            .iter()
            .map(|id| slurm(id, "4", "1", "7", "2").unwrap().0.index)
            .collect();
        assert_eq!(shards, [1, 2, 3, 4]);
        // A one-task array.
        assert_eq!(
            slurm("9", "1", "9", "9", "1").unwrap(),
            (spec(1, 1), ArrayJob::Slurm { task_id: 9 })
        );
    }

    #[test]
    fn malformed_or_inconsistent_slurm_variables_are_refused() {
        // Not numbers.
        for bad in ["", "x", "-1", "1.0", " 2", "0x3", "99999999999999999999999"] {
            let e = slurm(bad, "4", "0", "3", "1").unwrap_err();
            assert!(
                matches!(e, ArrayJobError::Malformed { var: SLURM_ID, .. }),
                "{bad:?}: {e}"
            );
        }
        assert!(matches!(
            slurm("0", "0", "0", "3", "1").unwrap_err(),
            ArrayJobError::Malformed { var: SLURM_COUNT, .. }
        ));
        assert!(matches!(
            slurm("0", "4", "0", "3", "0").unwrap_err(),
            ArrayJobError::Malformed { var: SLURM_STEP, .. }
        ));
        // ID outside MIN..=MAX, MIN > MAX.
        for (id, min, max) in [("4", "0", "3"), ("0", "1", "4")] {
            let e = slurm(id, "4", min, max, "1").unwrap_err();
            assert!(e.to_string().contains("outside the array's range"), "{e}");
        }
        assert!(
            slurm("2", "1", "3", "2", "1")
                .unwrap_err()
                .to_string()
                .contains("larger than")
        );
        // --array=1,3,5,7: step 1, yet MAX is not MIN + COUNT - 1.
        let e = slurm("3", "4", "1", "7", "1").unwrap_err();
        assert!(e.to_string().contains("--array=1-7:2"), "{e}");
        // An ID off the step.
        let e = slurm("2", "4", "1", "7", "2").unwrap_err();
        assert!(e.to_string().contains("multiple of"), "{e}");
        // A huge count overflows the span rather than wrapping.
        assert!(slurm("0", "18446744073709551615", "0", "3", "2").is_err());
        // Each variable missing in turn.
        let all = [
            (SLURM_ID, "1"),
            (SLURM_COUNT, "4"),
            (SLURM_MIN, "0"),
            (SLURM_MAX, "3"),
            (SLURM_STEP, "1"),
        ];
        for skip in 0..all.len() {
            let some: Vec<(&str, &str)> = all
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != skip)
                .map(|(_, p)| *p)
                .collect();
            let e = shard_from_env(env(&some)).unwrap_err();
            assert_eq!(
                std::mem::discriminant(&e),
                std::mem::discriminant(&ArrayJobError::Missing { var: "", why: "" }),
                "{e}"
            );
            assert!(e.to_string().contains(all[skip].0), "{e}");
        }
    }

    #[test]
    fn kubernetes_indexed_jobs() {
        let k =
            |index: &str, count: &str| shard_from_env(env(&[(COMPLETION_INDEX_VAR, index), (SHARD_COUNT_VAR, count)]));
        assert_eq!(
            k("0", "4").unwrap(),
            (spec(1, 4), ArrayJob::Kubernetes { completion_index: 0 })
        );
        assert_eq!(k("3", "4").unwrap().0, spec(4, 4));
        assert!(k("4", "4").unwrap_err().to_string().contains("not below"));
        assert!(matches!(k("0", "0").unwrap_err(), ArrayJobError::Malformed { .. }));
        assert!(matches!(k("a", "4").unwrap_err(), ArrayJobError::Malformed { .. }));
        assert!(matches!(k("1", "").unwrap_err(), ArrayJobError::Malformed { .. }));
        let e = shard_from_env(env(&[(COMPLETION_INDEX_VAR, "1")])).unwrap_err();
        assert!(e.to_string().contains(SHARD_COUNT_VAR), "{e}");
        let e = shard_from_env(env(&[(SHARD_COUNT_VAR, "4")])).unwrap_err();
        assert!(e.to_string().contains(COMPLETION_INDEX_VAR), "{e}");
    }

    #[test]
    fn no_scheduler_or_both_schedulers_are_refused() {
        assert_eq!(shard_from_env(env(&[])).unwrap_err(), ArrayJobError::NotInArrayJob);
        let e = shard_from_env(env(&[(SLURM_ID, "1"), (COMPLETION_INDEX_VAR, "1")])).unwrap_err();
        assert!(matches!(e, ArrayJobError::Ambiguous { .. }), "{e}");
    }
}
