//! The dyno size table: memory quota, compute share, price, R15 kill factor and per-type limits of
//! every Heroku dyno size, in real memory order (facts: heroku-platform.md §5).

use std::fmt;

/// Which Heroku platform generation a size belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Generation {
    Cedar,
    Fir,
}

/// One dyno size as Heroku sells it.
#[derive(Clone, Copy, PartialEq)]
pub struct DynoSize {
    /// The name as the Platform API returns it (`Standard-1X`, `Performance-M`, `dyno-2c-4gb`).
    pub name: &'static str,
    /// Memory quota in MB (Heroku's "MB" are MiB).
    pub memory_mb: u32,
    /// Relative compute share (Standard-1X = 1); used to scale service times.
    pub compute: u32,
    pub dedicated: bool,
    /// Price of one dyno running a whole month, in cents; Heroku bills per second.
    pub monthly_cents: u32,
    /// Memory use, as a multiple of the quota, at which the platform kills the dyno (R15).
    pub r15_factor: f64,
    /// Most dynos of one process type Heroku allows on this size by default.
    pub max_per_type: u32,
    pub generation: Generation,
    /// Only available inside Private or Shield Spaces.
    pub private_space_only: bool,
}

/// Hours in Heroku's billing month: the CLI divides the monthly price by 720.
pub const BILLING_HOURS_PER_MONTH: u32 = 720;

impl DynoSize {
    /// Dollars per hour for one dyno of this size.
    pub fn dollars_per_hour(&self) -> f64 {
        f64::from(self.monthly_cents) / 100.0 / f64::from(BILLING_HOURS_PER_MONTH)
    }

    /// Memory in MB at which Heroku kills the dyno with R15.
    pub fn r15_kill_mb(&self) -> f64 {
        f64::from(self.memory_mb) * self.r15_factor
    }

    /// Position on the size ladder: sizes sort by memory, then compute, then price.
    pub fn ladder_key(&self) -> (u32, u32, u32) {
        (self.memory_mb, self.compute, self.monthly_cents)
    }

    /// Looks a size up by any spelling Heroku accepts (case-insensitive, legacy names included).
    pub fn lookup(name: &str) -> Result<&'static DynoSize, SizeError> {
        let wanted = name.trim();
        let canonical = LEGACY_ALIASES
            .iter()
            .find(|(alias, _)| alias.eq_ignore_ascii_case(wanted))
            .map_or(wanted, |(_, real)| *real);
        let canonical = canonical
            .strip_prefix("Shield-")
            .map_or_else(|| canonical.to_owned(), |rest| format!("Private-{rest}"));
        SIZES
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(&canonical))
            .ok_or_else(|| SizeError::Unknown(name.to_owned()))
    }

    /// The next larger size of the same generation and kind (shared or private), if any.
    pub fn next_up(&self) -> Option<&'static DynoSize> {
        ladder_for(self).find(|s| s.ladder_key() > self.ladder_key())
    }

    /// The next smaller size of the same generation and kind, if any.
    pub fn next_down(&self) -> Option<&'static DynoSize> {
        ladder_for(self)
            .filter(|s| s.ladder_key() < self.ladder_key())
            .last()
    }
}

/// Sizes a process type can move between when `from` is its current size, in ladder order.
fn ladder_for(from: &DynoSize) -> impl Iterator<Item = &'static DynoSize> + '_ {
    let mut ladder: Vec<&'static DynoSize> = SIZES
        .iter()
        .filter(|s| {
            s.generation == from.generation
                && s.private_space_only == from.private_space_only
                && !is_single_dyno_tier(s)
        })
        .collect();
    ladder.sort_by_key(|s| s.ladder_key());
    ladder.into_iter()
}

/// Eco and Basic allow one dyno per type and cannot be mixed with larger sizes, so the vertical
/// scaler never moves onto or off them.
pub fn is_single_dyno_tier(size: &DynoSize) -> bool {
    size.max_per_type == 1
}

impl fmt::Debug for DynoSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DynoSize({})", self.name)
    }
}

impl fmt::Display for DynoSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    #[error("unknown dyno size `{0}`")]
    Unknown(String),
}

const LEGACY_ALIASES: &[(&str, &str)] = &[
    ("1X", "Standard-1X"),
    ("2X", "Standard-2X"),
    ("PX", "Performance-L"),
    ("Hobby", "Basic"),
    ("Free", "Eco"),
];

const fn cedar(
    name: &'static str,
    memory_mb: u32,
    compute: u32,
    monthly_dollars: u32,
    r15_tenths: u32,
    max_per_type: u32,
) -> DynoSize {
    DynoSize {
        name,
        memory_mb,
        compute,
        dedicated: compute >= 12,
        monthly_cents: monthly_dollars * 100,
        r15_factor: r15_tenths as f64 / 10.0,
        max_per_type,
        generation: Generation::Cedar,
        private_space_only: false,
    }
}

const fn private(
    name: &'static str,
    memory_mb: u32,
    compute: u32,
    monthly_dollars: u32,
) -> DynoSize {
    DynoSize {
        name,
        memory_mb,
        compute,
        dedicated: true,
        monthly_cents: monthly_dollars * 100,
        r15_factor: 1.0,
        max_per_type: 10,
        generation: Generation::Cedar,
        private_space_only: true,
    }
}

const fn fir(name: &'static str, vcpus: u32, memory_mb: u32, monthly_dollars: u32) -> DynoSize {
    DynoSize {
        name,
        memory_mb,
        compute: vcpus,
        dedicated: false,
        monthly_cents: monthly_dollars * 100,
        r15_factor: 1.0,
        max_per_type: 255,
        generation: Generation::Fir,
        private_space_only: false,
    }
}

/// Every size dynopilot knows. Cedar figures from Dev Center dyno-types (2024) and the CLI cost
/// table; Fir from the CLI (Fir restarts a dyno at 100% of its quota).
pub static SIZES: &[DynoSize] = &[
    cedar("Eco", 512, 1, 5, 20, 1),
    cedar("Basic", 512, 1, 7, 20, 1),
    cedar("Standard-1X", 512, 1, 25, 20, 100),
    cedar("Standard-2X", 1024, 2, 50, 20, 100),
    cedar("Performance-M", 2560, 12, 250, 20, 10),
    cedar("Performance-L", 14336, 50, 500, 20, 10),
    cedar("Performance-L-RAM", 30720, 24, 500, 12, 10),
    cedar("Performance-XL", 63488, 50, 750, 12, 10),
    cedar("Performance-2XL", 129024, 100, 1500, 12, 10),
    private("Private-S", 1024, 12, 225),
    private("Private-M", 2560, 12, 450),
    private("Private-L", 14336, 50, 900),
    private("Private-L-RAM", 30720, 24, 500),
    private("Private-XL", 63488, 50, 750),
    private("Private-2XL", 129024, 100, 1500),
    fir("dyno-1c-0.5gb", 1, 512, 25),
    fir("dyno-2c-1gb", 2, 1024, 50),
    fir("dyno-1c-4gb", 1, 4096, 80),
    fir("dyno-2c-4gb", 2, 4096, 150),
    fir("dyno-4c-8gb", 4, 8192, 300),
    fir("dyno-1c-8gb", 1, 8192, 100),
    fir("dyno-2c-8gb", 2, 8192, 160),
    fir("dyno-2c-16gb", 2, 16384, 250),
    fir("dyno-4c-16gb", 4, 16384, 320),
    fir("dyno-8c-16gb", 8, 16384, 600),
    fir("dyno-4c-32gb", 4, 32768, 500),
    fir("dyno-8c-32gb", 8, 32768, 640),
    fir("dyno-16c-32gb", 16, 32768, 1200),
    fir("dyno-8c-64gb", 8, 65536, 750),
    fir("dyno-16c-64gb", 16, 65536, 1000),
    fir("dyno-32c-64gb", 32, 65536, 2400),
    fir("dyno-16c-128gb", 16, 131072, 1500),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_accepts_any_case_legacy_and_shield_names() {
        assert_eq!(DynoSize::lookup("standard-1x").unwrap().name, "Standard-1X");
        assert_eq!(DynoSize::lookup("2X").unwrap().name, "Standard-2X");
        assert_eq!(DynoSize::lookup("Shield-L").unwrap().name, "Private-L");
        assert_eq!(
            DynoSize::lookup("Standard-3X"),
            Err(SizeError::Unknown("Standard-3X".into()))
        );
    }

    #[test]
    fn cedar_ladder_follows_real_memory_order_and_includes_performance_l() {
        let mut size = DynoSize::lookup("Standard-1X").unwrap();
        let mut names = vec![size.name];
        while let Some(next) = size.next_up() {
            names.push(next.name);
            size = next;
        }
        assert_eq!(
            names,
            [
                "Standard-1X",
                "Standard-2X",
                "Performance-M",
                "Performance-L",
                "Performance-L-RAM",
                "Performance-XL",
                "Performance-2XL"
            ]
        );
        assert_eq!(
            DynoSize::lookup("Performance-M")
                .unwrap()
                .next_down()
                .unwrap()
                .name,
            "Standard-2X"
        );
    }

    #[test]
    fn prices_and_kill_points_match_the_size_table() {
        let std1 = DynoSize::lookup("Standard-1X").unwrap();
        assert!((std1.dollars_per_hour() - 25.0 / 720.0).abs() < 1e-9);
        assert_eq!(std1.r15_kill_mb(), 1024.0);
        assert_eq!(
            DynoSize::lookup("Performance-XL").unwrap().r15_kill_mb(),
            63488.0 * 1.2
        );
        assert_eq!(DynoSize::lookup("Private-S").unwrap().r15_kill_mb(), 1024.0);
    }
}
