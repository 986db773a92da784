//! How hard the local engine may work: a [`Snapshot`] of the laptop's power and thermal state
//! goes in, a [`Mode`] comes out, and the mode maps to engine settings ([`Profile`]) and to the
//! router's limits.
//!
//! The `device` crate reads batteries and sensors (or a scripted trace) and feeds snapshots to
//! a [`Governor`]; everything here is plain data so the rules are table-tested.
//!
//! Rules (checked in order; "enter" thresholds are stricter than "leave" thresholds, which is
//! the hysteresis that stops a laptop hovering at 20 % from flapping between modes):
//!
//! | condition                                                                  | mode        |
//! |----------------------------------------------------------------------------|-------------|
//! | the user chose a mode (`[power] mode = "saver"` …)                         | that mode   |
//! | throttling, or CPU ≥ 90 °C                                                 | Saver       |
//! | on battery below 20 %                                                      | Saver       |
//! | was Saver, and (on battery below 30 % or CPU ≥ 80 °C)                      | Saver (stays) |
//! | on AC (or no battery), CPU < 70 °C (or no sensor)                          | Performance |
//! | was Performance, on AC, CPU < 80 °C                                        | Performance (stays) |
//! | otherwise                                                                  | Balanced    |

use serde::{Deserialize, Serialize};
use std::fmt;

/// A battery's state as the OS reports it. `None` fields: the OS does not say.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Battery {
    /// State of charge, 0–100.
    pub percent: f32,
    /// Mains power is connected (charging or full).
    pub on_ac: bool,
    /// Seconds until empty at the current draw, while discharging.
    pub time_to_empty_s: Option<u64>,
    /// Watts flowing out of (discharging) or into (charging) the battery.
    pub energy_rate_w: Option<f32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Thermal {
    /// No temperature sensor could be read.
    Unknown,
    Nominal,
    /// Warm enough that sustained load will throttle soon.
    Warm,
    /// Throttling, or about to.
    Throttling,
}

/// One reading of the laptop's power and thermal state.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "PowerSnapshot"))]
pub struct Snapshot {
    /// `None`: this machine has no battery (a desktop, a VM) or it cannot be read.
    pub battery: Option<Battery>,
    /// Hottest CPU sensor, °C. `None`: no sensor.
    pub cpu_celsius: Option<f32>,
    /// The OS or the trace says the CPU is being throttled for heat.
    pub throttling: bool,
    /// Whole-machine CPU load, 0–1. `None` before the first measurement.
    pub cpu_load: Option<f32>,
}

impl Snapshot {
    /// A machine about which nothing is known: no battery, no sensors.
    pub const UNKNOWN: Snapshot =
        Snapshot { battery: None, cpu_celsius: None, throttling: false, cpu_load: None };

    pub fn on_ac(&self) -> bool {
        self.battery.is_none_or(|b| b.on_ac)
    }

    pub fn thermal(&self) -> Thermal {
        match self.cpu_celsius {
            _ if self.throttling => Thermal::Throttling,
            None => Thermal::Unknown,
            Some(t) if t >= THROTTLE_C => Thermal::Throttling,
            Some(t) if t >= WARM_C => Thermal::Warm,
            Some(_) => Thermal::Nominal,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "PowerMode"))]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Performance,
    #[default]
    Balanced,
    Saver,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Performance, Mode::Balanced, Mode::Saver];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Performance => "performance",
            Mode::Balanced => "balanced",
            Mode::Saver => "saver",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The user's choice in the settings: automatic, or one mode always.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "PowerOverride"))]
#[serde(rename_all = "snake_case")]
pub enum Override {
    #[default]
    Auto,
    Performance,
    Balanced,
    Saver,
}

impl Override {
    pub fn fixed(self) -> Option<Mode> {
        match self {
            Override::Auto => None,
            Override::Performance => Some(Mode::Performance),
            Override::Balanced => Some(Mode::Balanced),
            Override::Saver => Some(Mode::Saver),
        }
    }
}

pub const SAVER_ENTER_PERCENT: f32 = 20.0;
pub const SAVER_LEAVE_PERCENT: f32 = 30.0;
pub const THROTTLE_C: f32 = 90.0;
pub const WARM_C: f32 = 80.0;
pub const COOL_C: f32 = 70.0;

/// Why the mode is what it is, for the status bar and the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    pub mode: Mode,
    pub why: String,
}

/// The next mode, given the previous one (hysteresis) and the user's override.
pub fn next_mode(previous: Mode, s: &Snapshot, user: Override) -> Assessment {
    let a = |mode, why: String| Assessment { mode, why };
    if let Some(mode) = user.fixed() {
        return a(mode, format!("{mode} mode chosen in the settings"));
    }
    if s.thermal() == Thermal::Throttling {
        return a(
            Mode::Saver,
            match s.cpu_celsius {
                Some(t) if !s.throttling => format!("CPU at {t:.0} °C: throttling"),
                _ => "the CPU is thermally throttled".into(),
            },
        );
    }
    let battery = s.battery.filter(|b| !b.on_ac);
    if let Some(b) = battery
        && b.percent < SAVER_ENTER_PERCENT
    {
        return a(
            Mode::Saver,
            format!("on battery at {:.0} % (below {SAVER_ENTER_PERCENT:.0} %)", b.percent),
        );
    }
    if previous == Mode::Saver {
        if let Some(b) = battery
            && b.percent < SAVER_LEAVE_PERCENT
        {
            return a(
                Mode::Saver,
                format!(
                    "on battery at {:.0} %: stays in saver until {SAVER_LEAVE_PERCENT:.0} %",
                    b.percent
                ),
            );
        }
        if let Some(t) = s.cpu_celsius
            && t >= WARM_C
        {
            return a(
                Mode::Saver,
                format!("CPU at {t:.0} °C: stays in saver until below {WARM_C:.0} °C"),
            );
        }
    }
    let cool = s.cpu_celsius.is_none_or(|t| t < COOL_C);
    // Load is reported, not ruled on: a busy CPU is a reason to wait, not to summarize worse,
    // and the mode must not change with what the other programs happen to do.
    if s.on_ac() && cool {
        let power = if s.battery.is_some() { "on AC" } else { "no battery" };
        return a(
            Mode::Performance,
            match s.cpu_celsius {
                Some(t) => format!("{power}, CPU at {t:.0} °C"),
                None => format!("{power}, no temperature sensor"),
            },
        );
    }
    if previous == Mode::Performance && s.on_ac() && s.cpu_celsius.is_none_or(|t| t < WARM_C) {
        return a(
            Mode::Performance,
            "on AC; stays in performance until the CPU passes 80 °C".into(),
        );
    }
    a(
        Mode::Balanced,
        match (battery, s.cpu_celsius) {
            (Some(b), _) => format!("on battery at {:.0} %", b.percent),
            (None, Some(t)) => format!("on AC, CPU warm at {t:.0} °C"),
            (None, None) => "on AC".into(),
        },
    )
}

/// Feeds snapshots through [`next_mode`], remembering the mode between them.
#[derive(Debug, Clone)]
pub struct Governor {
    pub user: Override,
    current: Assessment,
}

impl Governor {
    pub fn new(user: Override) -> Governor {
        Governor {
            user,
            current: Assessment { mode: Mode::Balanced, why: "no reading yet".into() },
        }
    }

    /// Carries on from a mode remembered from before (the last run), so a restart does not
    /// undo the hysteresis.
    pub fn resume(user: Override, previous: Mode) -> Governor {
        Governor {
            user,
            current: Assessment { mode: previous, why: "remembered from the last reading".into() },
        }
    }

    pub fn observe(&mut self, s: &Snapshot) -> &Assessment {
        self.current = next_mode(self.current.mode, s, self.user);
        &self.current
    }

    pub fn current(&self) -> &Assessment {
        &self.current
    }
}

/// What a mode lets the local engine do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "PowerProfile"))]
pub struct Profile {
    /// CPU threads for generation (see [`profile`]).
    pub threads: u32,
    /// Upper bound on GPU layers (`None`: as configured / as many as fit).
    pub max_gpu_layers: Option<u32>,
    /// Prompt-processing batch size in tokens.
    pub batch: u32,
    /// Share of the requested summary length the engine may generate, in percent.
    pub output_budget_percent: u32,
    /// Router limit: the most parts a long note may be summarized in locally before the
    /// router prefers the cloud (when allowed) or the extractive summarizer.
    pub max_local_parts: usize,
}

/// The engine settings for `mode` on a machine with `cores` physical CPU cores.
///
/// Threads: llama.cpp runs best with one thread per physical core (a second hyperthread on a
/// core only contends for the same vector units). Energy is power × time, and a CPU that
/// finishes sooner sleeps sooner, so fewer threads save little charge on a small laptop while
/// making the technician wait longer: on this project's 2-core reference machine the 0.5B
/// model reads a prompt 1.9× and writes 1.35× faster on 2 threads than on 1 (README,
/// Benchmarks). Balanced keeps a
/// core free only on machines with more than four; saver halves them, to keep the fans quiet.
/// Batch: prompt tokens decoded at once; smaller batches bound the peak power draw.
pub fn profile(mode: Mode, cores: usize) -> Profile {
    let cores = cores.max(1) as u32;
    match mode {
        Mode::Performance => Profile {
            threads: cores,
            max_gpu_layers: None,
            batch: 512,
            output_budget_percent: 100,
            max_local_parts: usize::MAX,
        },
        Mode::Balanced => Profile {
            threads: if cores > 4 { cores * 3 / 4 } else { cores },
            max_gpu_layers: None,
            batch: 256,
            output_budget_percent: 100,
            max_local_parts: 16,
        },
        // A discrete GPU woken on battery costs more than it saves on small models; a few
        // threads keep the fans quiet; long notes are not ground through locally part by part.
        Mode::Saver => Profile {
            threads: (cores / 2).max(1),
            max_gpu_layers: Some(0),
            batch: 128,
            output_budget_percent: 70,
            max_local_parts: 4,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on_battery(percent: f32) -> Snapshot {
        Snapshot {
            battery: Some(Battery {
                percent,
                on_ac: false,
                time_to_empty_s: None,
                energy_rate_w: Some(12.0),
            }),
            cpu_celsius: Some(55.0),
            throttling: false,
            cpu_load: Some(0.2),
        }
    }

    fn on_ac(celsius: f32) -> Snapshot {
        Snapshot {
            battery: Some(Battery {
                percent: 80.0,
                on_ac: true,
                time_to_empty_s: None,
                energy_rate_w: None,
            }),
            cpu_celsius: Some(celsius),
            throttling: false,
            cpu_load: Some(0.2),
        }
    }

    #[test]
    fn rules_table() {
        use Mode::*;
        let throttled = Snapshot { throttling: true, ..on_ac(60.0) };
        let cases: &[(Mode, Snapshot, Mode)] = &[
            (Balanced, on_ac(50.0), Performance),
            (Balanced, on_ac(75.0), Balanced),
            (Performance, on_ac(75.0), Performance),
            (Performance, on_ac(85.0), Balanced),
            (Performance, on_ac(92.0), Saver),
            (Performance, throttled, Saver),
            (Performance, on_battery(60.0), Balanced),
            (Balanced, on_battery(19.0), Saver),
            (Saver, on_battery(25.0), Saver),
            (Balanced, on_battery(25.0), Balanced),
            (Saver, on_battery(31.0), Balanced),
            (Saver, on_ac(50.0), Performance),
            (Saver, on_ac(82.0), Saver),
            (Saver, on_ac(78.0), Balanced),
            (Balanced, Snapshot::UNKNOWN, Performance),
        ];
        for (prev, s, want) in cases {
            let got = next_mode(*prev, s, Override::Auto);
            assert_eq!(got.mode, *want, "from {prev:?} with {s:?}: {}", got.why);
            assert!(!got.why.is_empty());
        }
    }

    #[test]
    fn battery_falling_then_ac_restored_changes_mode_once_each_way() {
        let mut g = Governor::new(Override::Auto);
        let mut modes = Vec::new();
        // Discharging from 40 % down to 15 %, wobbling ±1 % around 20 % on the way.
        for p in [40.0, 30.0, 21.0, 19.5, 20.5, 19.0, 20.2, 18.0, 15.0] {
            modes.push(g.observe(&on_battery(p)).mode);
        }
        modes.push(g.observe(&on_ac(50.0)).mode);
        modes.dedup();
        assert_eq!(modes, [Mode::Balanced, Mode::Saver, Mode::Performance]);
    }

    #[test]
    fn the_user_override_wins() {
        let g = next_mode(Mode::Balanced, &on_battery(5.0), Override::Performance);
        assert_eq!(g.mode, Mode::Performance);
        assert!(g.why.contains("settings"));
    }

    #[test]
    fn profiles_tighten_with_the_mode() {
        let (p, b, s) =
            (profile(Mode::Performance, 8), profile(Mode::Balanced, 8), profile(Mode::Saver, 8));
        assert_eq!((p.threads, b.threads, s.threads), (8, 6, 4));
        // A 2-core laptop keeps both cores unless it must save power.
        assert_eq!((profile(Mode::Balanced, 2).threads, profile(Mode::Saver, 2).threads), (2, 1));
        assert!(p.batch > b.batch && b.batch > s.batch);
        assert!(p.max_local_parts > b.max_local_parts && b.max_local_parts > s.max_local_parts);
        assert_eq!(s.max_gpu_layers, Some(0));
        assert!(s.output_budget_percent < 100);
        assert_eq!(profile(Mode::Saver, 1).threads, 1);
    }

    #[test]
    fn thermal_states() {
        assert_eq!(on_ac(50.0).thermal(), Thermal::Nominal);
        assert_eq!(on_ac(85.0).thermal(), Thermal::Warm);
        assert_eq!(on_ac(95.0).thermal(), Thermal::Throttling);
        assert_eq!(Snapshot::UNKNOWN.thermal(), Thermal::Unknown);
        assert!(Snapshot::UNKNOWN.on_ac());
    }
}
