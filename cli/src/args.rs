//! `--name value` options, checked against the names a command accepts.

use std::collections::HashMap;
use std::str::FromStr;

use super::Failure;

pub struct Args {
    values: HashMap<String, String>,
}

impl Args {
    pub fn parse(raw: &[String], accepted: &[&str]) -> Result<Args, Failure> {
        let mut values = HashMap::new();
        let mut iter = raw.iter();
        while let Some(arg) = iter.next() {
            let Some(name) = arg.strip_prefix("--") else {
                return Err(Failure::Usage(format!("unexpected argument {arg:?}")));
            };
            let (name, inline) = match name.split_once('=') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (name, None),
            };
            if !accepted.contains(&name) {
                return Err(Failure::Usage(format!("unknown option --{name}")));
            }
            let value = match inline {
                Some(value) => value,
                None => iter
                    .next()
                    .cloned()
                    .ok_or_else(|| Failure::Usage(format!("--{name} needs a value")))?,
            };
            if values.insert(name.to_string(), value).is_some() {
                return Err(Failure::Usage(format!("--{name} given twice")));
            }
        }
        Ok(Args { values })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub fn required(&self, name: &str) -> Result<&str, Failure> {
        self.get(name)
            .ok_or_else(|| Failure::Usage(format!("--{name} is required")))
    }

    /// A parsed number, or `default` when the option is absent.
    pub fn number<T: FromStr>(&self, name: &str, default: T) -> Result<T, Failure> {
        match self.get(name) {
            None => Ok(default),
            Some(text) => text
                .parse()
                .map_err(|_| Failure::Usage(format!("--{name} {text:?} is not a valid number"))),
        }
    }
}
