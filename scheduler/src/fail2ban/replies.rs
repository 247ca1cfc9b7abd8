//! Typed readings of fail2ban's replies. Lists of `(label, value)` pairs are read by
//! label, never by position, so `Journal matches` and future fields do not break them.

use shared::domain::JailName;

use super::client::ClientError;
use super::codec::Value;

/// Counters of one jail from `status <jail> short`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JailCounters {
    pub currently_failed: i64,
    pub total_failed: i64,
    pub currently_banned: i64,
    pub total_banned: i64,
}

fn unexpected(what: &str, v: &Value) -> ClientError {
    let mut shown = v.to_string();
    shown.truncate(200);
    ClientError::Unexpected(format!("{what}: {shown}"))
}

/// Looks a label up in a `[(label, value), …]` list.
fn labelled<'a>(pairs: &'a Value, label: &str) -> Option<&'a Value> {
    pairs.as_seq()?.iter().find_map(|p| match p.as_seq() {
        Some([Value::Str(l), v]) if l == label => Some(v),
        _ => None,
    })
}

/// `status` → the jail names (one comma-and-space-joined string on the wire).
pub fn jail_list(v: &Value) -> Result<Vec<JailName>, ClientError> {
    let list = labelled(v, "Jail list").ok_or_else(|| unexpected("status", v))?;
    let text = list.as_str().ok_or_else(|| unexpected("jail list", list))?;
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| JailName::parse(s).map_err(|e| ClientError::Unexpected(e.to_string())))
        .collect()
}

pub fn jail_counters(v: &Value) -> Result<JailCounters, ClientError> {
    let filter = labelled(v, "Filter").ok_or_else(|| unexpected("jail status", v))?;
    let actions = labelled(v, "Actions").ok_or_else(|| unexpected("jail status", v))?;
    let int = |section: &Value, label: &str| {
        labelled(section, label)
            .and_then(Value::as_int)
            .unwrap_or(0)
    };
    Ok(JailCounters {
        currently_failed: int(filter, "Currently failed"),
        total_failed: int(filter, "Total failed"),
        currently_banned: int(actions, "Currently banned"),
        total_banned: int(actions, "Total banned"),
    })
}

/// `banned` → `[{jail: [ip, …]}, …]`.
pub fn banned_map(v: &Value) -> Result<Vec<(JailName, Vec<String>)>, ClientError> {
    let items = v.as_seq().ok_or_else(|| unexpected("banned", v))?;
    let mut out = Vec::new();
    for item in items {
        let Value::Dict(kv) = item else {
            return Err(unexpected("banned entry", item));
        };
        for (k, ips) in kv {
            let name = k.as_str().ok_or_else(|| unexpected("banned jail", k))?;
            let jail = JailName::parse(name).map_err(|e| ClientError::Unexpected(e.to_string()))?;
            out.push((jail, string_list(ips)?));
        }
    }
    Ok(out)
}

/// A list of strings (IPs arrive as strings after the `builtins.str` REDUCE).
pub fn string_list(v: &Value) -> Result<Vec<String>, ClientError> {
    match v {
        Value::None => Ok(Vec::new()),
        _ => v
            .as_seq()
            .ok_or_else(|| unexpected("list", v))?
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| unexpected("list item", x))
            })
            .collect(),
    }
}

/// A value as JSON, for settings stored in the jail snapshot.
pub fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::None => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Float(x) => serde_json::Number::from_f64(*x).map_or(J::Null, J::Number),
        Value::Str(s) => J::String(s.clone()),
        Value::Bytes(b) => J::String(String::from_utf8_lossy(b).into_owned()),
        Value::List(xs) | Value::Tuple(xs) | Value::Set(xs) => {
            J::Array(xs.iter().map(to_json).collect())
        }
        Value::Dict(kv) => J::Object(
            kv.iter()
                .map(|(k, v)| {
                    (
                        k.as_str().map_or_else(|| k.to_string(), str::to_owned),
                        to_json(v),
                    )
                })
                .collect(),
        ),
        other => J::String(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Value {
        Value::Str(x.into())
    }

    fn pair(l: &str, v: Value) -> Value {
        Value::Tuple(vec![s(l), v])
    }

    #[test]
    fn jail_list_splits_the_joined_string() {
        let v = Value::List(vec![
            pair("Number of jail", Value::Int(2)),
            pair("Jail list", s("test-ssh, test-web")),
        ]);
        let names: Vec<String> = jail_list(&v)
            .expect("parse")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(names, ["test-ssh", "test-web"]);
        let empty = Value::List(vec![
            pair("Number of jail", Value::Int(0)),
            pair("Jail list", s("")),
        ]);
        assert!(jail_list(&empty).expect("parse").is_empty());
    }

    #[test]
    fn counters_are_read_by_label_whatever_the_order_or_extras() {
        let v = Value::List(vec![
            pair(
                "Actions",
                Value::List(vec![
                    pair("Total banned", Value::Int(9)),
                    pair("Currently banned", Value::Int(2)),
                ]),
            ),
            pair(
                "Filter",
                Value::List(vec![
                    pair(
                        "Journal matches",
                        Value::List(vec![s("_SYSTEMD_UNIT=sshd.service")]),
                    ),
                    pair("Currently failed", Value::Int(1)),
                    pair("Total failed", Value::Int(30)),
                ]),
            ),
        ]);
        assert_eq!(
            jail_counters(&v).expect("parse"),
            JailCounters {
                currently_failed: 1,
                total_failed: 30,
                currently_banned: 2,
                total_banned: 9
            }
        );
        assert!(jail_counters(&s("nope")).is_err());
    }

    #[test]
    fn banned_map_reads_one_dict_per_jail() {
        let v = Value::List(vec![
            Value::Dict(vec![(s("a"), Value::List(vec![s("192.0.2.1")]))]),
            Value::Dict(vec![(s("b"), Value::List(vec![]))]),
        ]);
        let m = banned_map(&v).expect("parse");
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].1, vec!["192.0.2.1".to_owned()]);
        assert!(
            banned_map(&Value::List(vec![Value::Dict(vec![(
                s("../x"),
                Value::List(vec![])
            )])]))
            .is_err()
        );
    }
}
