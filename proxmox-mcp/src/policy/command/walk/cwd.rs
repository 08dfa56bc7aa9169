//! The working directory: the candidate directories a command may run in, `cd`, and paths made
//! absolute against them.

use super::super::paths;
use super::{Arg, Cwd, MAX_CWDS, Walker};

impl Walker<'_> {
    /// The candidate working directories, or `None` when unknown.
    pub(in crate::policy::command) fn cwds(&self) -> Option<&[String]> {
        match &self.cwd {
            Cwd::Known(v) => Some(v),
            Cwd::Unknown => None,
        }
    }

    /// `path` made absolute against every candidate working directory (one entry for an
    /// absolute path); `None` when it is relative and the directory is unknown.
    pub(in crate::policy::command) fn absolute(&mut self, path: &str) -> Option<Vec<String>> {
        if path.split('/').any(|c| c == "..") {
            // `..` after a symbolic link goes where the link points, not up the path as
            // written (`/etc/pve/local/../../priv`, `/dev/fd/../root`): what it reaches is
            // only known at run time.
            self.unresolve(format!(
                "`{path}` climbs with `..`, which may pass through a link"
            ));
        }
        let all: Vec<String> = if path.starts_with('/') {
            paths::normalize(path, None).into_iter().collect()
        } else {
            let cwds = self.cwds()?;
            cwds.iter()
                .filter_map(|c| paths::normalize(path, Some(c)))
                .collect()
        };
        Some(all.into_iter().map(|p| paths::canonical(&p)).collect())
    }

    /// `cd DIR` happened (or was attempted: a failed `cd` leaves the old directory).
    pub(in crate::policy::command) fn change_dir(&mut self, target: Option<&Arg>) {
        let dest = match target {
            None => Some(self.ctx.home.to_string()),
            Some(a) if a.dynamic || a.glob || a.text == "-" => None,
            Some(a) => Some(a.text.clone()),
        };
        self.last_cd = None;
        let new = match (dest, self.absolute_all()) {
            (Some(d), Some(mut cwds)) => {
                if d.split('/').any(|c| c == "..") {
                    self.unresolve(format!(
                        "`cd {d}` climbs with `..`, which may pass through a link"
                    ));
                }
                let targets: Vec<String> = if d.starts_with('/') {
                    paths::normalize(&d, None).into_iter().collect()
                } else {
                    cwds.iter()
                        .filter_map(|c| paths::normalize(&d, Some(c)))
                        .collect()
                };
                self.last_cd = Some(targets.clone());
                for t in targets {
                    if !cwds.contains(&t) {
                        cwds.push(t);
                    }
                }
                (cwds.len() <= MAX_CWDS).then_some(cwds)
            }
            _ => None,
        };
        self.cwd = new.map_or(Cwd::Unknown, Cwd::Known);
    }

    fn absolute_all(&self) -> Option<Vec<String>> {
        self.cwds().map(<[String]>::to_vec)
    }
}

/// Every directory either side allows (unknown when either is, or when there are too many).
pub(super) fn union(a: Cwd, b: Cwd) -> Cwd {
    match (a, b) {
        (Cwd::Known(mut x), Cwd::Known(y)) => {
            for d in y {
                if !x.contains(&d) {
                    x.push(d);
                }
            }
            if x.len() <= MAX_CWDS {
                Cwd::Known(x)
            } else {
                Cwd::Unknown
            }
        }
        _ => Cwd::Unknown,
    }
}
