//! Serde adapters that store `Timestamp`s as plain epoch milliseconds inside persisted policy
//! state and decisions (`Timestamp` itself stays serde-free in `time.rs`).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::time::Timestamp;

pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    t.as_millis().serialize(s)
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
    i64::deserialize(d).map(Timestamp::from_millis)
}

pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        t.map(Timestamp::as_millis).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        Option::<i64>::deserialize(d).map(|o| o.map(Timestamp::from_millis))
    }
}

pub mod map {
    use super::*;

    pub fn serialize<S: Serializer>(
        m: &BTreeMap<String, Timestamp>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_map(m.iter().map(|(k, t)| (k, t.as_millis())))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<String, Timestamp>, D::Error> {
        let raw = BTreeMap::<String, i64>::deserialize(d)?;
        Ok(raw
            .into_iter()
            .map(|(k, ms)| (k, Timestamp::from_millis(ms)))
            .collect())
    }
}
