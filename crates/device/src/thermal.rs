//! Whether the CPU is being throttled for heat, read from the OS.
//!
//! Neither `sysinfo` nor `starship-battery` says so (a temperature is not a throttle: a CPU at
//! 90 °C may run at full clock, and one at 70 °C under a low trip point may not). What each OS
//! offers instead:
//!
//! - **Linux** (sysfs under a root, `/` on a laptop; a recorded tree in tests):
//!   - Intel's throttle counters `devices/system/cpu/cpu*/thermal_throttle/{core,package}_throttle_count`
//!     only count up: a rise since the last reading is throttling now;
//!   - a thermal zone at or above its `passive` trip point (`class/thermal/thermal_zone*/temp`
//!     against `trip_point_N_temp` where `trip_point_N_type` is `passive`) is the kernel
//!     slowing the CPU down, on AMD and ARM too;
//!   - a processor cooling device in use (`class/thermal/cooling_device*/type` `Processor` or
//!     `intel_powerclamp`, `cur_state` above 0) is the same from the other end.
//!
//!   The hottest CPU zone's temperature stands in where `sysinfo` finds no CPU sensor.
//! - **macOS**: `NSProcessInfo.thermalState` `serious` or `critical` (the OS's own verdict).
//! - **Windows**: a CPU's clock limit (`MhzLimit`, `CallNtPowerInformation`) fallen more than
//!   5 % below the highest limit seen since the app started (a power plan's own cap, there
//!   from the start, is not throttling; a cap the firmware adds under heat is). Limits: a
//!   laptop already throttled when the app starts is not seen until it recovers once, and a
//!   switch to a battery plan that caps the clock reads as throttling (saver mode then, which
//!   a battery plan asks for anyway).
//!
//! Anything that cannot be read counts as "not throttling": this module never invents heat.

/// One reading.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Reading {
    pub throttling: bool,
    /// The hottest CPU thermal zone, °C, when the OS has one.
    pub zone_celsius: Option<f32>,
}

/// Reads throttling on this OS; keeps what a reading needs from the last one.
#[derive(Debug)]
pub struct Throttle {
    #[cfg(target_os = "linux")]
    sysfs: Sysfs,
    /// The highest clock limit seen, MHz.
    #[cfg(target_os = "windows")]
    baseline: u32,
}

impl Throttle {
    pub fn new() -> Throttle {
        Throttle {
            #[cfg(target_os = "linux")]
            sysfs: Sysfs::new(std::path::PathBuf::from("/sys")),
            #[cfg(target_os = "windows")]
            baseline: 0,
        }
    }

    /// Linux's interfaces under `root` instead of `/sys` (a recorded tree, in tests).
    #[cfg(target_os = "linux")]
    pub fn at(root: std::path::PathBuf) -> Throttle {
        Throttle { sysfs: Sysfs::new(root) }
    }

    pub fn read(&mut self) -> Reading {
        #[cfg(target_os = "linux")]
        return self.sysfs.read();
        #[cfg(target_os = "macos")]
        return Reading { throttling: macos::serious(), zone_celsius: None };
        #[cfg(target_os = "windows")]
        return Reading { throttling: self.capped(), zone_celsius: None };
        #[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
        Reading::default()
    }
}

#[cfg(target_os = "windows")]
impl Throttle {
    /// The clock limit is more than 5 % below the highest seen.
    fn capped(&mut self) -> bool {
        let Some(limit) = windows::lowest_limit() else { return false };
        self.baseline = self.baseline.max(limit);
        (limit as f32) < self.baseline as f32 * 0.95
    }
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle::new()
    }
}

/// Linux's thermal interfaces under `root` (`/sys` on a machine).
#[derive(Debug)]
pub struct Sysfs {
    root: std::path::PathBuf,
    /// The throttle counters' sum at the last reading.
    last_count: Option<u64>,
}

/// Zone types that are the CPU's (x86 package, ACPI's CPU zone, ARM SoCs, AMD's k10temp).
const CPU_ZONES: &[&str] = &["x86_pkg_temp", "cpu", "tcpu", "soc", "k10temp", "acpitz"];

impl Sysfs {
    pub fn new(root: std::path::PathBuf) -> Sysfs {
        Sysfs { root, last_count: None }
    }

    pub fn read(&mut self) -> Reading {
        let count = self.throttle_count();
        let counted = matches!((self.last_count, count), (Some(before), Some(now)) if now > before);
        if count.is_some() {
            self.last_count = count;
        }
        let (zone_celsius, passive) = self.zones();
        Reading { throttling: counted || passive || self.cooling(), zone_celsius }
    }

    fn entries(&self, dir: &str, prefix: &str) -> Vec<std::path::PathBuf> {
        let Ok(read) = std::fs::read_dir(self.root.join(dir)) else { return Vec::new() };
        let mut found: Vec<_> = read
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
            .map(|e| e.path())
            .collect();
        found.sort();
        found
    }

    /// The sum of every CPU's throttle counters, when there are any (Intel).
    fn throttle_count(&self) -> Option<u64> {
        let mut sum = None;
        for cpu in self.entries("devices/system/cpu", "cpu") {
            for counter in ["core_throttle_count", "package_throttle_count"] {
                if let Some(n) = number(&cpu.join("thermal_throttle").join(counter)) {
                    sum = Some(sum.unwrap_or(0) + n.max(0) as u64);
                }
            }
        }
        sum
    }

    /// (the hottest CPU zone in °C, whether any zone is at or above a passive trip point).
    fn zones(&self) -> (Option<f32>, bool) {
        let mut hottest: Option<f32> = None;
        let mut passive = false;
        for zone in self.entries("class/thermal", "thermal_zone") {
            let Some(milli) = number(&zone.join("temp")) else { continue };
            let kind = text(&zone.join("type")).unwrap_or_default().to_lowercase();
            if CPU_ZONES.iter().any(|k| kind.contains(k)) {
                let celsius = milli as f32 / 1000.0;
                if celsius > 0.0 && celsius < 150.0 {
                    hottest = Some(hottest.map_or(celsius, |h| h.max(celsius)));
                }
            }
            for n in 0..16 {
                let Some(trip) = text(&zone.join(format!("trip_point_{n}_type"))) else { break };
                if trip == "passive"
                    && let Some(at) = number(&zone.join(format!("trip_point_{n}_temp")))
                    && at > 0
                    && milli >= at
                {
                    passive = true;
                }
            }
        }
        (hottest, passive)
    }

    /// Whether a processor cooling device is slowing the CPU down.
    fn cooling(&self) -> bool {
        self.entries("class/thermal", "cooling_device").iter().any(|dev| {
            let kind = text(&dev.join("type")).unwrap_or_default();
            matches!(kind.as_str(), "Processor" | "intel_powerclamp")
                && number(&dev.join("cur_state")).is_some_and(|s| s > 0)
        })
    }
}

fn text(path: &std::path::Path) -> Option<String> {
    // sysfs files are tiny; anything bigger is not one.
    let bytes = std::fs::read(path).ok().filter(|b| b.len() <= 4096)?;
    Some(String::from_utf8_lossy(&bytes).trim().to_string())
}

fn number(path: &std::path::Path) -> Option<i64> {
    text(path)?.parse().ok()
}

#[cfg(target_os = "macos")]
mod macos {
    /// `NSProcessInfo.thermalState` is serious or critical: the OS is cutting performance.
    pub fn serious() -> bool {
        use objc2_foundation::{NSProcessInfo, NSProcessInfoThermalState};
        let state = NSProcessInfo::processInfo().thermalState();
        state == NSProcessInfoThermalState::Serious || state == NSProcessInfoThermalState::Critical
    }
}

#[cfg(target_os = "windows")]
mod windows {
    use windows_sys::Win32::System::Power::{
        CallNtPowerInformation, PROCESSOR_POWER_INFORMATION, ProcessorInformation,
    };
    use windows_sys::Win32::System::Threading::{ALL_PROCESSOR_GROUPS, GetActiveProcessorCount};

    /// The lowest clock limit (MHz) over the CPUs now, when Windows says.
    pub fn lowest_limit() -> Option<u32> {
        // One record per processor of every group (not only those this process may run on).
        // SAFETY: a plain query without pointers.
        let cpus = unsafe { GetActiveProcessorCount(ALL_PROCESSOR_GROUPS) }.max(1) as usize;
        let mut info: Vec<PROCESSOR_POWER_INFORMATION> = vec![unsafe { std::mem::zeroed() }; cpus];
        let size = (cpus * std::mem::size_of::<PROCESSOR_POWER_INFORMATION>()) as u32;
        // SAFETY: the output buffer holds `cpus` records and its size in bytes is passed.
        let status = unsafe {
            CallNtPowerInformation(
                ProcessorInformation,
                std::ptr::null(),
                0,
                info.as_mut_ptr().cast(),
                size,
            )
        };
        (status == 0).then(|| info.iter().map(|p| p.MhzLimit).filter(|&l| l > 0).min()).flatten()
    }
}
