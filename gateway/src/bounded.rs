//! Config values that cannot hold an invalid value: [`Span`], a duration within bounds;
//! [`Count`], a whole number within bounds; [`Rate`], events per second within bounds;
//! [`Ratio`], a fraction from 0 to 1.
//!
//! Each field of `ferry.toml` that takes one has its bounds in its type, so they are
//! checked once, when the file is read, and the code that uses the value needs no
//! defences (`unwrap_or(1)`, `.max(1)`, saturating clock arithmetic against a value of
//! 2^64 seconds). A value out of range is refused with a reason in TOML's terms: what was
//! written, and the range.

use std::{fmt, marker::PhantomData, num::NonZeroUsize, time::Duration};

use serde::{
    Deserialize, Deserializer, Serialize, Serializer,
    de::{self, Unexpected, Visitor},
};

#[cfg(test)]
mod tests;

/// A duration from `MIN_MS` to `MAX_MS` milliseconds, written as a string: `"250ms"`,
/// `"30s"`, `"5m"`, `"1h 30m"`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span<const MIN_MS: u64, const MAX_MS: u64>(Duration);

impl<const MIN_MS: u64, const MAX_MS: u64> Span<MIN_MS, MAX_MS> {
    /// The smallest value.
    pub const MIN: Duration = Duration::from_millis(MIN_MS);
    /// The largest value.
    pub const MAX: Duration = Duration::from_millis(MAX_MS);

    /// `d`, checked when compiled (for defaults and constants): out of range does not build.
    pub const fn of(d: Duration) -> Self {
        let ms = d.as_millis();
        assert!(
            ms >= MIN_MS as u128 && ms <= MAX_MS as u128,
            "Span out of range"
        );
        Self(d)
    }

    /// [`Span::of`] whole seconds.
    pub const fn secs(secs: u64) -> Self {
        Self::of(Duration::from_secs(secs))
    }

    /// [`Span::of`] milliseconds.
    pub const fn millis(ms: u64) -> Self {
        Self::of(Duration::from_millis(ms))
    }

    /// `d` if it is in range, else why not.
    pub fn new(d: Duration) -> Result<Self, String> {
        Self::checked(d, &humantime::format_duration(d).to_string())
    }

    /// `d` (written as `shown`) if it is in range, else why not.
    fn checked(d: Duration, shown: &str) -> Result<Self, String> {
        if d < Self::MIN || d > Self::MAX {
            Err(format!(
                "`{shown}` is out of range: must be from {} to {}",
                humantime::format_duration(Self::MIN),
                humantime::format_duration(Self::MAX)
            ))
        } else {
            Ok(Self(d))
        }
    }

    /// The duration.
    pub const fn get(self) -> Duration {
        self.0
    }
}

impl<const MIN_MS: u64, const MAX_MS: u64> fmt::Display for Span<MIN_MS, MAX_MS> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        humantime::format_duration(self.0).fmt(f)
    }
}

impl<const MIN_MS: u64, const MAX_MS: u64> fmt::Debug for Span<MIN_MS, MAX_MS> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Span({self})")
    }
}

impl<const MIN_MS: u64, const MAX_MS: u64> Serialize for Span<MIN_MS, MAX_MS> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de, const MIN_MS: u64, const MAX_MS: u64> Deserialize<'de> for Span<MIN_MS, MAX_MS> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<const A: u64, const B: u64>;
        impl<const A: u64, const B: u64> Visitor<'_> for V<A, B> {
            type Value = Span<A, B>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(
                    f,
                    "a duration from {} to {} written as a string, like \"30s\"",
                    humantime::format_duration(Span::<A, B>::MIN),
                    humantime::format_duration(Span::<A, B>::MAX)
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                let d = humantime::parse_duration(v).map_err(|_| {
                    E::custom(format!(
                        "`{v}` is not a duration (write it like \"30s\", \"250ms\" or \"5m\")"
                    ))
                })?;
                Span::checked(d, v).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Err(not_a_string(v, &self))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Err(not_a_string(v, &self))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Err(not_a_string(v, &self))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Err(E::invalid_type(Unexpected::Bool(v), &self))
            }
        }
        d.deserialize_any(V::<MIN_MS, MAX_MS>)
    }
}

fn not_a_string<E: de::Error>(v: impl fmt::Display, expected: &dyn de::Expected) -> E {
    E::custom(format!(
        "found the number {v}, expected {expected} (a number needs a unit)"
    ))
}

/// A whole number from `MIN` to `MAX`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Count<const MIN: u32, const MAX: u32>(u32);

impl<const MIN: u32, const MAX: u32> Count<MIN, MAX> {
    /// `n`, checked when compiled (for defaults and constants).
    pub const fn of(n: u32) -> Self {
        assert!(n >= MIN && n <= MAX, "Count out of range");
        Self(n)
    }

    /// `n` if it is in range, else why not.
    pub fn new(n: u64) -> Result<Self, String> {
        match u32::try_from(n) {
            Ok(n) if (MIN..=MAX).contains(&n) => Ok(Self(n)),
            _ => Err(format!(
                "{n} is out of range: must be an integer from {MIN} to {MAX}"
            )),
        }
    }

    /// The number.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// The number as a `usize` (ferry runs on 32- and 64-bit targets, where it fits).
    pub const fn usize(self) -> usize {
        self.0 as usize
    }
}

impl<const MAX: u32> Count<1, MAX> {
    /// The number, which a count of at least 1 can never be without.
    pub const fn non_zero(self) -> NonZeroUsize {
        match NonZeroUsize::new(self.0 as usize) {
            Some(n) => n,
            // Unreachable: `new` and `of` refuse 0 for a minimum of 1.
            None => NonZeroUsize::MIN,
        }
    }
}

impl<const MIN: u32, const MAX: u32> fmt::Display for Count<MIN, MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<const MIN: u32, const MAX: u32> fmt::Debug for Count<MIN, MAX> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Count({})", self.0)
    }
}

impl<const MIN: u32, const MAX: u32> Serialize for Count<MIN, MAX> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}

impl<'de, const MIN: u32, const MAX: u32> Deserialize<'de> for Count<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumberVisitor::<Self>(PhantomData))
    }
}

/// A rate in events per second, from 0.001 (one every 1000 s) to one million.
#[derive(Clone, Copy, PartialEq, PartialOrd)]
pub struct Rate(f64);

impl Rate {
    /// The lowest rate.
    pub const MIN: f64 = 0.001;
    /// The highest rate.
    pub const MAX: f64 = 1_000_000.0;

    /// `per_second` if it is in range, else why not.
    pub fn new(per_second: f64) -> Result<Self, String> {
        if (Self::MIN..=Self::MAX).contains(&per_second) {
            Ok(Self(per_second))
        } else {
            Err(format!(
                "{per_second} is out of range: must be from {} to {} per second",
                Self::MIN,
                Self::MAX
            ))
        }
    }

    /// Events per second.
    pub const fn per_second(self) -> f64 {
        self.0
    }

    /// The time between two events (at least a microsecond, at most 1000 s).
    pub fn period(self) -> Duration {
        Duration::from_secs_f64(1.0 / self.0)
    }
}

impl fmt::Debug for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rate({}/s)", self.0)
    }
}

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumberVisitor::<Self>(PhantomData))
    }
}

/// A fraction from 0 to 1 (a sampling ratio).
#[derive(Clone, Copy, PartialEq, PartialOrd)]
pub struct Ratio(f64);

impl Ratio {
    /// All of it.
    pub const ONE: Self = Self(1.0);

    /// `value` if it is from 0 to 1, else why not.
    pub fn new(value: f64) -> Result<Self, String> {
        if (0.0..=1.0).contains(&value) {
            Ok(Self(value))
        } else {
            Err(format!("{value} is out of range: must be from 0 to 1"))
        }
    }

    /// The fraction.
    pub const fn get(self) -> f64 {
        self.0
    }
}

impl fmt::Debug for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ratio({})", self.0)
    }
}

impl Serialize for Ratio {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0)
    }
}

impl<'de> Deserialize<'de> for Ratio {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumberVisitor::<Self>(PhantomData))
    }
}

impl FromNumber for Ratio {
    fn expected(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a number from 0 to 1")
    }
    fn from_u64(n: u64) -> Result<Self, String> {
        #[allow(clippy::cast_precision_loss)] // anything above 1 is refused anyway
        Self::new(n as f64)
    }
    fn from_f64(n: f64) -> Result<Self, String> {
        Self::new(n)
    }
}

/// A value read from a TOML number: integers for a [`Count`], any number for a [`Rate`].
trait FromNumber: Sized {
    /// What the value is, for errors ("an integer from 1 to 16").
    fn expected(f: &mut fmt::Formatter<'_>) -> fmt::Result;
    fn from_u64(n: u64) -> Result<Self, String>;
    fn from_f64(n: f64) -> Result<Self, String>;
}

impl<const MIN: u32, const MAX: u32> FromNumber for Count<MIN, MAX> {
    fn expected(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an integer from {MIN} to {MAX}")
    }
    fn from_u64(n: u64) -> Result<Self, String> {
        Self::new(n)
    }
    fn from_f64(n: f64) -> Result<Self, String> {
        Err(format!(
            "expected an integer from {MIN} to {MAX}, found {n}"
        ))
    }
}

impl FromNumber for Rate {
    fn expected(f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a number from {} to {} (per second)",
            Self::MIN,
            Self::MAX
        )
    }
    fn from_u64(n: u64) -> Result<Self, String> {
        #[allow(clippy::cast_precision_loss)] // a rate this large is refused anyway
        Self::new(n as f64)
    }
    fn from_f64(n: f64) -> Result<Self, String> {
        Self::new(n)
    }
}

struct NumberVisitor<T>(PhantomData<T>);

impl<T: FromNumber> NumberVisitor<T> {
    fn found<E: de::Error>(&self, what: fmt::Arguments<'_>) -> E {
        E::custom(format!("expected {self}, found {what}"))
    }
}

impl<T: FromNumber> fmt::Display for NumberVisitor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        T::expected(f)
    }
}

impl<'de, T: FromNumber> Visitor<'de> for NumberVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        T::expected(f)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        T::from_u64(v).map_err(E::custom)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Err(self.found(format_args!("{v}"))),
        }
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        T::from_f64(v).map_err(E::custom)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        Err(self.found(format_args!("the string \"{v}\"")))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<T, E> {
        Err(self.found(format_args!("{v}")))
    }
    fn visit_map<A: de::MapAccess<'de>>(self, _: A) -> Result<T, A::Error> {
        Err(self.found(format_args!("a table")))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<T, A::Error> {
        Err(self.found(format_args!("an array")))
    }
}
