//! The wire contract guard: the descriptor set gRPC reflection serves
//! against the goldens, `proto/credd/v1/wire.golden` for `credd.v1` and
//! `proto/envoy/wire.golden` for the Envoy ext_authz subset (its `envoy.*`
//! packages and `google.rpc`, whose names and numbers are Envoy's and
//! googleapis'). One line per message, field, oneof, enum, enum value,
//! service and rpc, with every number, type, label, JSON name and option,
//! and no file names (so moving a message between files changes nothing). A
//! missing or changed golden line fails: the protos only grow. New lines
//! pass and are printed; run with `CREDD_BLESS_WIRE_GOLDEN=1` to add them
//! (it never removes a line).

use std::collections::BTreeSet;
use std::path::Path;

use credd::api::pb;
use prost::Message;
use prost_types::{DescriptorProto, EnumDescriptorProto, FileDescriptorSet};

/// A golden file and the proto packages it holds.
struct Contract {
    golden: &'static str,
    packages: &'static [&'static str],
}

const CREDD: Contract = Contract {
    golden: "proto/credd/v1/wire.golden",
    packages: &["credd.v1"],
};

const ENVOY: Contract = Contract {
    golden: "proto/envoy/wire.golden",
    packages: &[
        "envoy.service.auth.v3",
        "envoy.config.core.v3",
        "envoy.type.v3",
        "google.rpc",
    ],
};

/// ` options=..` when set, else nothing.
fn options<T: std::fmt::Debug>(options: Option<&T>) -> String {
    options.map_or_else(String::new, |o| format!(" options={o:?}"))
}

/// The lines of one enum named `name`.
fn enum_lines(name: &str, e: &EnumDescriptorProto, out: &mut BTreeSet<String>) {
    let reserved: Vec<_> = e.reserved_range.iter().map(|r| (r.start, r.end)).collect();
    out.insert(format!(
        "{name} enum reserved={reserved:?} {:?}{}",
        e.reserved_name,
        options(e.options.as_ref())
    ));
    for v in &e.value {
        out.insert(format!(
            "{name}.{} = {}{}",
            v.name(),
            v.number(),
            options(v.options.as_ref())
        ));
    }
}

/// The lines of one message named `name` and of everything nested in it.
fn message_lines(name: &str, m: &DescriptorProto, out: &mut BTreeSet<String>) {
    let reserved: Vec<_> = m.reserved_range.iter().map(|r| (r.start, r.end)).collect();
    let ranges: Vec<_> = m.extension_range.iter().map(|r| (r.start, r.end)).collect();
    out.insert(format!(
        "{name} message reserved={reserved:?} {:?} extensions={ranges:?}{}",
        m.reserved_name,
        options(m.options.as_ref())
    ));
    for (i, o) in m.oneof_decl.iter().enumerate() {
        out.insert(format!(
            "{name} oneof {i} {}{}",
            o.name(),
            options(o.options.as_ref())
        ));
    }
    for f in m.field.iter().chain(&m.extension) {
        let lower = |s: &str, prefix: &str| s.trim_start_matches(prefix).to_lowercase();
        let mut parts = vec![
            format!("{name}.{} = {}", f.name(), f.number()),
            lower(f.label().as_str_name(), "LABEL_"),
            lower(f.r#type().as_str_name(), "TYPE_"),
        ];
        parts.extend(f.type_name.clone());
        for (key, value) in [
            ("extendee", &f.extendee),
            ("default", &f.default_value),
            ("json", &f.json_name),
        ] {
            parts.extend(value.as_ref().map(|v| format!("{key}={v}")));
        }
        if let Some(i) = f.oneof_index {
            parts.push(format!("oneof={}", m.oneof_decl[i as usize].name()));
        }
        if f.proto3_optional() {
            parts.push("proto3_optional".to_string());
        }
        out.insert(parts.join(" ") + &options(f.options.as_ref()));
    }
    for nested in &m.nested_type {
        message_lines(&format!("{name}.{}", nested.name()), nested, out);
    }
    for e in &m.enum_type {
        enum_lines(&format!("{name}.{}", e.name()), e, out);
    }
}

/// The normalised wire contract of `package` in `set`, file names dropped.
fn wire_lines(set: &FileDescriptorSet, package: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for file in set.file.iter().filter(|f| f.package() == package) {
        out.insert(format!(
            "{package} file syntax={}{}",
            file.syntax(),
            options(file.options.as_ref())
        ));
        for m in &file.message_type {
            message_lines(&format!("{package}.{}", m.name()), m, &mut out);
        }
        for e in &file.enum_type {
            enum_lines(&format!("{package}.{}", e.name()), e, &mut out);
        }
        for s in &file.service {
            let name = format!("{package}.{}", s.name());
            out.insert(format!("{name} service{}", options(s.options.as_ref())));
            for r in &s.method {
                let stream = |on: bool| if on { "stream " } else { "" };
                out.insert(format!(
                    "{name}.{} rpc ({}{}) returns ({}{}){}",
                    r.name(),
                    stream(r.client_streaming()),
                    r.input_type(),
                    stream(r.server_streaming()),
                    r.output_type(),
                    options(r.options.as_ref())
                ));
            }
        }
    }
    out
}

/// Fails if `contract`'s golden has a line the descriptor set lacks; adds
/// the new lines to it when blessing.
fn check(contract: &Contract) {
    let set = FileDescriptorSet::decode(pb::FILE_DESCRIPTOR_SET).expect("descriptor set");
    let now: BTreeSet<String> = contract
        .packages
        .iter()
        .flat_map(|package| wire_lines(&set, package))
        .collect();
    let golden_path = contract.golden;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(golden_path);
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let golden: BTreeSet<String> = text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    let missing: Vec<_> = golden.difference(&now).collect();
    let added: Vec<_> = now.difference(&golden).collect();
    if !added.is_empty() {
        println!("{golden_path}: add these lines (CREDD_BLESS_WIRE_GOLDEN=1 does):");
        added.iter().for_each(|line| println!("{line}"));
    }
    if std::env::var_os("CREDD_BLESS_WIRE_GOLDEN").is_some() && !added.is_empty() {
        let header: String = text
            .lines()
            .take_while(|l| l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        let all: Vec<_> = golden.union(&now).cloned().collect();
        std::fs::write(&path, header + &all.join("\n") + "\n").expect("write golden");
    }
    assert!(
        missing.is_empty(),
        "the wire contract lost or changed these lines of {golden_path}:\n{}",
        missing
            .iter()
            .map(|l| l.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    for package in contract.packages {
        assert!(
            now.iter()
                .any(|l| l.starts_with(&format!("{package} file "))),
            "no {package} in the descriptor set"
        );
    }
}

#[test]
fn wire_contract_only_grows() {
    check(&CREDD);
}

/// The Envoy subset keeps Envoy's names and numbers: Envoy itself is the
/// other end of the wire.
#[test]
fn envoy_subset_only_grows() {
    check(&ENVOY);
}
