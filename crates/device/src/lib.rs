//! The power manager: reads the battery (`starship-battery`) and the CPU's temperature and
//! load (`sysinfo`), or a scripted trace, and turns the readings into a power mode through the
//! core's [`Governor`] (whose rules and hysteresis are table-tested there).
//!
//! Invariant: this crate reports; it never decides a route. The router gets the mode as one of
//! its inputs.
//!
//! A trace (`FIELDBRIEF_POWER_TRACE=path`) stands in for the hardware in tests and demos: one
//! JSON object per line, e.g.
//!
//! ```text
//! {"battery": {"percent": 40, "on_ac": false, "energy_rate_w": 11.5}, "cpu_celsius": 55}
//! {"at_s": 30, "battery": {"percent": 15, "on_ac": false}, "cpu_celsius": 61}
//! {"at_s": 60, "cpu_celsius": 95, "throttling": true}
//! ```
//!
//! A line takes effect `at_s` seconds after the monitor starts (0 when absent), and every line
//! that has taken effect is fed to the governor in order, so a one-shot CLI command sees the
//! mode the whole trace leads to. No `battery` key means a machine without one. Blank lines and
//! lines starting with `#` are skipped.

use fieldbrief_core::power::{
    self, Assessment, Battery, Governor, Mode, Override, Snapshot, Thermal,
};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub mod thermal;

pub const TRACE_ENV: &str = "FIELDBRIEF_POWER_TRACE";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("power trace {path}: {message}")]
    Trace { path: PathBuf, message: String },
}

/// Where the readings come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "PowerSource"))]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// The OS: batteries and temperature sensors.
    System,
    /// A scripted trace file.
    Trace,
}

/// What the status bar, `fieldbrief status` and the ledger show.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PowerState {
    pub source: SourceKind,
    pub snapshot: Snapshot,
    pub thermal: Thermal,
    pub mode: Mode,
    /// Why the mode is what it is, in words.
    pub why: String,
    /// Plainly what could not be read, e.g. "no battery" or "no temperature sensor".
    pub missing: Vec<&'static str>,
}

impl PowerState {
    fn new(source: SourceKind, snapshot: Snapshot, a: &Assessment) -> PowerState {
        let mut missing = Vec::new();
        if snapshot.battery.is_none() {
            missing.push("no battery");
        }
        if snapshot.cpu_celsius.is_none() && !snapshot.throttling {
            missing.push("no temperature sensor");
        }
        PowerState {
            source,
            snapshot,
            thermal: snapshot.thermal(),
            mode: a.mode,
            why: a.why.clone(),
            missing,
        }
    }

    /// What the mode lets the local engine do on this machine (sized by its physical cores).
    pub fn profile(&self) -> power::Profile {
        power::profile(self.mode, physical_cores())
    }

    /// One line for people: "on battery 15 % · 61 °C · saver (on battery at 15 % (below 20 %))".
    pub fn describe(&self) -> String {
        let battery = match self.snapshot.battery {
            Some(b) if b.on_ac => format!("on AC, battery {:.0} %", b.percent),
            Some(b) => format!("on battery {:.0} %", b.percent),
            None => "no battery".into(),
        };
        let thermal = match self.snapshot.cpu_celsius {
            Some(t) => format!(
                "CPU {t:.0} °C{}",
                if self.thermal == Thermal::Throttling { " (throttling)" } else { "" }
            ),
            None if self.snapshot.throttling => "CPU throttling".into(),
            None => "no temperature sensor".into(),
        };
        format!("{battery} · {thermal} · {} ({})", self.mode, self.why)
    }
}

trait Source: Send {
    fn kind(&self) -> SourceKind;
    /// Readings taken since the last call, oldest first (possibly none).
    fn readings(&mut self) -> Vec<Snapshot>;
}

/// Reads snapshots and keeps the mode, re-reading at most every `poll`.
pub struct PowerMonitor {
    source: Box<dyn Source>,
    governor: Governor,
    poll: Duration,
    last: Option<(Instant, PowerState)>,
}

impl PowerMonitor {
    /// The trace named by `FIELDBRIEF_POWER_TRACE` when set, else the system's sensors.
    /// `previous`: the mode remembered from the last run, for hysteresis across restarts.
    pub fn from_env(
        user: Override,
        poll: Duration,
        previous: Option<Mode>,
    ) -> Result<PowerMonitor, Error> {
        match std::env::var_os(TRACE_ENV).filter(|v| !v.is_empty()) {
            Some(path) => Ok(PowerMonitor::trace(Path::new(&path), user, poll, previous)?),
            None => Ok(PowerMonitor::system(user, poll, previous)),
        }
    }

    pub fn system(user: Override, poll: Duration, previous: Option<Mode>) -> PowerMonitor {
        PowerMonitor::with(Box::new(System::new()), user, poll, previous)
    }

    pub fn trace(
        path: &Path,
        user: Override,
        poll: Duration,
        previous: Option<Mode>,
    ) -> Result<PowerMonitor, Error> {
        Ok(PowerMonitor::with(Box::new(Trace::load(path)?), user, poll, previous))
    }

    fn with(
        source: Box<dyn Source>,
        user: Override,
        poll: Duration,
        previous: Option<Mode>,
    ) -> PowerMonitor {
        let governor = match previous {
            Some(m) => Governor::resume(user, m),
            None => Governor::new(user),
        };
        PowerMonitor { source, governor, poll, last: None }
    }

    pub fn set_override(&mut self, user: Override) {
        self.governor.user = user;
        self.last = None;
    }

    /// The current state, reading the source if the last reading is older than the poll
    /// interval.
    pub fn state(&mut self) -> PowerState {
        if let Some((at, state)) = &self.last
            && at.elapsed() < self.poll
        {
            return state.clone();
        }
        let readings = self.source.readings();
        let mut state = None;
        for s in &readings {
            let a = self.governor.observe(s).clone();
            state = Some(PowerState::new(self.source.kind(), *s, &a));
        }
        let state = match (state, &self.last) {
            (Some(s), _) => s,
            // Nothing new (a trace between lines): the mode stands, re-evaluated for an override.
            (None, Some((_, prev))) => {
                let a = self.governor.observe(&prev.snapshot).clone();
                PowerState::new(prev.source, prev.snapshot, &a)
            }
            (None, None) => {
                let a = self.governor.observe(&Snapshot::UNKNOWN).clone();
                PowerState::new(self.source.kind(), Snapshot::UNKNOWN, &a)
            }
        };
        self.last = Some((Instant::now(), state.clone()));
        state
    }
}

/// Batteries and sensors through the OS.
struct System {
    batteries: Option<starship_battery::Manager>,
    components: Option<sysinfo::Components>,
    system: Option<sysinfo::System>,
    throttle: thermal::Throttle,
}

impl System {
    fn new() -> System {
        let batteries = match starship_battery::Manager::new() {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::info!(error = %e, "batteries cannot be read");
                None
            }
        };
        let unreadable = |what: &str, e: sysinfo::Error| {
            tracing::info!(error = %e, "{what} cannot be read");
        };
        let mut system = sysinfo::System::new().map_err(|e| unreadable("CPU load", e)).ok();
        if let Some(system) = &mut system {
            system.refresh_cpu_usage();
        }
        let components = sysinfo::Components::new_with_refreshed_list()
            .map_err(|e| unreadable("temperature sensors", e))
            .ok();
        System { batteries, components, system, throttle: thermal::Throttle::new() }
    }

    fn battery(&self) -> Option<Battery> {
        use starship_battery::State;
        use starship_battery::units::{power::watt, ratio::percent, time::second};
        let manager = self.batteries.as_ref()?;
        let all: Vec<starship_battery::Battery> =
            manager.batteries().ok()?.filter_map(Result::ok).collect();
        if all.is_empty() {
            return None;
        }
        // Several batteries (some laptops have two): the charge of all of them together.
        let full: f32 = all.iter().map(|b| b.energy_full().value).sum();
        let now: f32 = all.iter().map(|b| b.energy().value).sum();
        let charge = if full > 0.0 {
            now / full * 100.0
        } else {
            all.iter().map(|b| b.state_of_charge().get::<percent>()).sum::<f32>() / all.len() as f32
        };
        // A plugged-in battery held below full by a charge limit reports "paused" (Linux's
        // "Not charging", macOS's paused charging) or "unknown": on AC either way.
        let on_ac = !all.iter().any(|b| matches!(b.state(), State::Discharging | State::Empty));
        let time_to_empty_s = if on_ac {
            None
        } else {
            all.iter().filter_map(|b| b.time_to_empty()).map(|t| t.get::<second>() as u64).max()
        };
        let rate: f32 = all.iter().map(|b| b.energy_rate().get::<watt>()).sum();
        Some(Battery {
            percent: charge.clamp(0.0, 100.0),
            on_ac,
            time_to_empty_s,
            energy_rate_w: (rate > 0.0).then_some(rate),
        })
    }

    fn cpu_celsius(&mut self) -> Option<f32> {
        let components = self.components.as_mut()?;
        components.refresh(true);
        // The hottest CPU-ish sensor; any sensor when none is labelled as the CPU's.
        let readings: Vec<(String, f32)> = components
            .iter()
            .filter_map(|c| {
                c.temperature()
                    .filter(|t| t.is_finite() && *t > 0.0 && *t < 150.0)
                    .map(|t| (c.label().to_lowercase(), t))
            })
            .collect();
        let cpu = ["cpu", "core", "package", "tctl", "tdie", "k10temp", "coretemp", "soc"];
        let is_cpu = |l: &str| cpu.iter().any(|k| l.contains(k));
        let any_cpu = readings.iter().any(|(l, _)| is_cpu(l));
        readings.iter().filter(|(l, _)| !any_cpu || is_cpu(l)).map(|(_, t)| *t).reduce(f32::max)
    }
}

impl Source for System {
    fn kind(&self) -> SourceKind {
        SourceKind::System
    }

    fn readings(&mut self) -> Vec<Snapshot> {
        let load = self.system.as_mut().map(|s| {
            s.refresh_cpu_usage();
            s.global_cpu_usage() / 100.0
        });
        let thermal = self.throttle.read();
        vec![Snapshot {
            battery: self.battery(),
            cpu_celsius: self.cpu_celsius().or(thermal.zone_celsius),
            throttling: thermal.throttling,
            cpu_load: load.filter(|l| l.is_finite() && *l > 0.0).map(|l| l.min(1.0)),
        }]
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TraceLine {
    #[serde(default)]
    at_s: f64,
    #[serde(default)]
    battery: Option<Battery>,
    #[serde(default)]
    cpu_celsius: Option<f32>,
    #[serde(default)]
    throttling: bool,
    #[serde(default)]
    cpu_load: Option<f32>,
}

struct Trace {
    started: Instant,
    lines: Vec<(Duration, Snapshot)>,
    next: usize,
}

impl Trace {
    fn load(path: &Path) -> Result<Trace, Error> {
        let err = |message: String| Error::Trace { path: path.to_path_buf(), message };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let mut lines = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let t: TraceLine =
                serde_json::from_str(line).map_err(|e| err(format!("line {}: {e}", n + 1)))?;
            if !t.at_s.is_finite() || t.at_s < 0.0 {
                return Err(err(format!("line {}: at_s must be a number of seconds ≥ 0", n + 1)));
            }
            if let Some(b) = t.battery
                && !(0.0..=100.0).contains(&b.percent)
            {
                return Err(err(format!(
                    "line {}: battery percent {} is not within 0–100",
                    n + 1,
                    b.percent
                )));
            }
            let snapshot = Snapshot {
                battery: t.battery,
                cpu_celsius: t.cpu_celsius,
                throttling: t.throttling,
                cpu_load: t.cpu_load,
            };
            lines.push((Duration::from_secs_f64(t.at_s), snapshot));
        }
        if lines.is_empty() {
            return Err(err("no readings in the file".into()));
        }
        lines.sort_by_key(|(at, _)| *at);
        Ok(Trace { started: Instant::now(), lines, next: 0 })
    }
}

impl Source for Trace {
    fn kind(&self) -> SourceKind {
        SourceKind::Trace
    }

    fn readings(&mut self) -> Vec<Snapshot> {
        let elapsed = self.started.elapsed();
        let due: Vec<Snapshot> = self.lines[self.next..]
            .iter()
            .take_while(|(at, _)| *at <= elapsed)
            .map(|(_, s)| *s)
            .collect();
        self.next += due.len();
        due
    }
}

/// This machine's memory in bytes (for the ledger's device class); `None` where the OS does
/// not say.
pub fn total_memory_bytes() -> Option<u64> {
    let mut system = sysinfo::System::new().ok()?;
    system.refresh_memory();
    Some(system.total_memory()).filter(|b| *b > 0)
}

/// Physical CPU cores (hyperthreads not counted); the logical CPU count where unknown.
pub fn physical_cores() -> usize {
    sysinfo::System::physical_core_count()
        .ok()
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn trace(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn a_trace_falling_to_15_percent_ends_in_saver_and_ac_restores_performance() {
        let f = trace(
            "# discharging\n\
             {\"battery\": {\"percent\": 40, \"on_ac\": false, \"energy_rate_w\": 11.5}, \"cpu_celsius\": 55}\n\
             {\"battery\": {\"percent\": 19, \"on_ac\": false}, \"cpu_celsius\": 55}\n\
             {\"battery\": {\"percent\": 21, \"on_ac\": false}, \"cpu_celsius\": 55}\n\
             {\"battery\": {\"percent\": 15, \"on_ac\": false}, \"cpu_celsius\": 56}\n",
        );
        let mut m = PowerMonitor::trace(f.path(), Override::Auto, Duration::ZERO, None).unwrap();
        let s = m.state();
        assert_eq!((s.mode, s.source), (Mode::Saver, SourceKind::Trace));
        assert!(s.describe().contains("on battery 15 %"), "{}", s.describe());
        assert_eq!(m.state().profile().max_gpu_layers, Some(0));

        let f = trace("{\"battery\": {\"percent\": 15, \"on_ac\": true}, \"cpu_celsius\": 50}\n");
        let mut m =
            PowerMonitor::trace(f.path(), Override::Auto, Duration::ZERO, Some(Mode::Saver))
                .unwrap();
        assert_eq!(m.state().mode, Mode::Performance);
    }

    #[test]
    fn hysteresis_carries_across_a_restart() {
        // 25 % on battery: saver if it was saver, balanced otherwise.
        let f = trace("{\"battery\": {\"percent\": 25, \"on_ac\": false}}\n");
        let from_saver =
            PowerMonitor::trace(f.path(), Override::Auto, Duration::ZERO, Some(Mode::Saver))
                .unwrap()
                .state()
                .mode;
        let fresh = PowerMonitor::trace(f.path(), Override::Auto, Duration::ZERO, None)
            .unwrap()
            .state()
            .mode;
        assert_eq!((from_saver, fresh), (Mode::Saver, Mode::Balanced));
    }

    #[test]
    fn throttling_and_machines_without_sensors() {
        let f = trace("{\"throttling\": true}\n");
        let s =
            PowerMonitor::trace(f.path(), Override::Auto, Duration::ZERO, None).unwrap().state();
        assert_eq!((s.mode, s.thermal), (Mode::Saver, Thermal::Throttling));
        assert_eq!(s.missing, ["no battery"]);
        let f = trace("{}\n");
        let s =
            PowerMonitor::trace(f.path(), Override::Saver, Duration::ZERO, None).unwrap().state();
        assert_eq!(s.mode, Mode::Saver);
        assert_eq!(s.missing, ["no battery", "no temperature sensor"]);
        assert!(
            s.describe().starts_with("no battery · no temperature sensor · saver"),
            "{}",
            s.describe()
        );
    }

    #[test]
    fn later_lines_wait_for_their_time() {
        let f = trace(
            "{\"battery\": {\"percent\": 90, \"on_ac\": true}}\n{\"at_s\": 3600, \"throttling\": true}\n",
        );
        let mut m = PowerMonitor::trace(f.path(), Override::Auto, Duration::ZERO, None).unwrap();
        assert_eq!(m.state().mode, Mode::Performance);
        assert_eq!(m.state().mode, Mode::Performance);
    }

    #[test]
    fn bad_traces_say_which_line() {
        for (text, want) in [
            ("{\"battery\": {\"percent\": 140, \"on_ac\": false}}", "line 1: battery percent 140"),
            ("\n{\"batery\": 1}", "line 2"),
            ("# nothing\n", "no readings"),
        ] {
            let f = trace(text);
            let e = PowerMonitor::trace(f.path(), Override::Auto, Duration::ZERO, None)
                .err()
                .unwrap()
                .to_string();
            assert!(e.contains(want), "{e}");
        }
    }

    /// Replays a sysfs trace (`scripts/record-thermal`'s format) through the system source
    /// and the governor: (seconds, reading, state) per step.
    #[cfg(target_os = "linux")]
    fn replay(trace: &str) -> Vec<(u64, thermal::Reading, PowerState)> {
        let root = tempfile::tempdir().unwrap();
        let system = System {
            batteries: None,
            components: None,
            system: None,
            throttle: thermal::Throttle::at(root.path().to_path_buf()),
        };
        let mut monitor =
            PowerMonitor::with(Box::new(system), Override::Auto, Duration::ZERO, None);
        let mut steps: Vec<(u64, Vec<(&str, &str)>)> = Vec::new();
        for line in trace.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            if let Some(at) = line.strip_prefix('@') {
                steps.push((at.trim().parse().unwrap(), Vec::new()));
            } else {
                let (path, value) = line.split_once(' ').unwrap();
                steps.last_mut().unwrap().1.push((path, value));
            }
        }
        let mut out = Vec::new();
        for (at, files) in steps {
            for (path, value) in files {
                let path = root.path().join(path);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, format!("{value}\n")).unwrap();
            }
            // What the source read, as the power manager got it.
            let state = monitor.state();
            let reading = thermal::Reading {
                throttling: state.snapshot.throttling,
                zone_celsius: state.snapshot.cpu_celsius,
            };
            out.push((at, reading, state));
        }
        out
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_recorded_thermal_trace_drives_the_power_mode() {
        let steps = replay(include_str!("../tests/data/thermal-intel-laptop.trace"));
        let seen: Vec<(u64, bool, Option<f32>, Mode)> = steps
            .iter()
            .map(|(at, r, s)| (*at, r.throttling, s.snapshot.cpu_celsius, s.mode))
            .collect();
        assert_eq!(
            seen,
            vec![
                // Cool: no battery and no sysinfo sensor, the x86 package zone stands in.
                (0, false, Some(52.0), Mode::Performance),
                // Hot, but below the passive trip and the counters still: not throttling.
                (5, false, Some(84.0), Mode::Balanced),
                // The passive trip point reached, the counters rising.
                (10, true, Some(99.0), Mode::Saver),
                // Below the trip, counters still, but the processor cooling device is engaged
                // (the hottest CPU zone is now ACPI's).
                (15, true, Some(88.0), Mode::Saver),
                // Released: out of saver once below 80 °C.
                (20, false, Some(73.0), Mode::Balanced),
                (25, false, Some(55.0), Mode::Performance),
            ]
        );
        assert_eq!(steps[2].2.thermal, Thermal::Throttling);
        assert!(steps[2].2.describe().contains("(throttling)"), "{}", steps[2].2.describe());
        assert!(!steps[0].2.missing.contains(&"no temperature sensor"));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn each_throttle_signal_alone_counts_and_nothing_readable_is_not_throttling() {
        let only_counters = "@ 0\ndevices/system/cpu/cpu0/thermal_throttle/core_throttle_count 5\n\
                             @ 1\n\
                             @ 2\ndevices/system/cpu/cpu0/thermal_throttle/core_throttle_count 6\n";
        let r: Vec<bool> = replay(only_counters).iter().map(|(_, r, _)| r.throttling).collect();
        assert_eq!(r, [false, false, true], "a rise between readings, not a high count");
        let amd = "@ 0\nclass/thermal/thermal_zone0/type k10temp\nclass/thermal/thermal_zone0/temp 91000\n\
                   class/thermal/thermal_zone0/trip_point_0_type passive\nclass/thermal/thermal_zone0/trip_point_0_temp 90000\n";
        assert!(replay(amd)[0].1.throttling);
        let clamp = "@ 0\nclass/thermal/cooling_device3/type intel_powerclamp\nclass/thermal/cooling_device3/cur_state 10\n";
        assert!(replay(clamp)[0].1.throttling);
        let fan = "@ 0\nclass/thermal/cooling_device0/type Fan\nclass/thermal/cooling_device0/cur_state 5\n\
                   class/thermal/thermal_zone0/type acpitz\nclass/thermal/thermal_zone0/temp garbage\n";
        assert_eq!(replay(fan)[0].1, thermal::Reading { throttling: false, zone_celsius: None });
        assert_eq!(replay("@ 0\n")[0].1, thermal::Reading::default());
    }

    #[test]
    fn the_system_source_reads_without_failing() {
        // Whatever this machine has (CI has no battery): a state, and a plain account of what
        // is missing rather than an error.
        let mut m = PowerMonitor::system(Override::Auto, Duration::from_secs(60), None);
        let s = m.state();
        assert_eq!(s.source, SourceKind::System);
        assert_eq!(s.missing.contains(&"no battery"), s.snapshot.battery.is_none());
        assert!(!s.why.is_empty());
    }
}
