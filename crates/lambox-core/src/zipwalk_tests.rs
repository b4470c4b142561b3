//! Tests of the package walker: the tree rules, the limits and the visitor contract.

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;

use super::*;

enum Item<'a> {
    File(&'a str, &'a [u8], u32),
    Dir(&'a str),
    Link(&'a str, &'a str),
}

fn build(items: &[Item<'_>]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for item in items {
        match item {
            Item::File(name, data, mode) => {
                let opts = SimpleFileOptions::default().unix_permissions(*mode);
                w.start_file(*name, opts).unwrap();
                w.write_all(data).unwrap();
            }
            Item::Dir(name) => w
                .add_directory(*name, SimpleFileOptions::default())
                .unwrap(),
            Item::Link(name, target) => w
                .add_symlink(*name, *target, SimpleFileOptions::default())
                .unwrap(),
        }
    }
    w.finish().unwrap().into_inner()
}

fn walk(zip: &[u8]) -> Result<Vec<PackageEntry>, ZipRejection> {
    let mut seen = Vec::new();
    let walked = walk_zip(zip, 1 << 20, |e, r| {
        let mut data = Vec::new();
        r.read_to_end(&mut data)?;
        if let EntryKind::File { size } = e.kind {
            assert_eq!(data.len() as u64, size);
        }
        seen.push(e.clone());
        Ok(())
    });
    match walked {
        Ok(_) => Ok(seen),
        Err(WalkError::Rejected(r)) => Err(r),
        Err(WalkError::Io(e)) => panic!("visitor failed: {e}"),
    }
}

fn escapes(zip: &[u8]) -> bool {
    matches!(walk(zip), Err(ZipRejection::Escapes(_)))
}

#[test]
fn hands_out_normalised_entries_with_masked_modes() {
    let zip = build(&[
        Item::Dir("lib/"),
        Item::File("./lib/a.py", b"x = 1\n", 0o644),
        Item::File("bin/tool", b"#!/bin/sh\n", 0o6755),
        Item::Link("lib/current", "a.py"),
        Item::Link("top", "lib/../bin/tool"),
    ]);
    let entries = walk(&zip).unwrap();
    let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["lib", "lib/a.py", "bin/tool", "lib/current", "top"]);
    assert_eq!(entries[2].mode, 0o755, "setuid and setgid are dropped");
    assert_eq!(entries[1].kind, EntryKind::File { size: 6 });
    assert_eq!(
        entries[3].kind,
        EntryKind::Symlink {
            target: "a.py".into()
        }
    );
}

#[test]
fn refuses_names_that_leave_the_root() {
    for name in [
        "../evil",
        "a/../../evil",
        "/etc/passwd",
        "a\\..\\..\\evil",
        "..\\x",
    ] {
        assert!(escapes(&build(&[Item::File(name, b"x", 0o644)])), "{name}");
    }
    assert!(walk(&build(&[Item::File("a/../b.py", b"x", 0o644)])).is_ok());
}

#[test]
fn refuses_links_that_leave_the_root_directly() {
    assert!(escapes(&build(&[Item::Link("link", "../../etc/passwd")])));
    assert!(escapes(&build(&[Item::Link("a/link", "/etc/passwd")])));
    assert!(escapes(&build(&[Item::Link("p/L1", "../../..")])));
    assert!(!escapes(&build(&[Item::Link("a/b/up", "../..")])));
}

/// The hole a probe found: a link to a directory, and an entry written through it.
#[test]
fn refuses_entries_below_a_link() {
    let zip = build(&[
        Item::Link("p/q/L1", ".."),
        Item::Link("p/q/L1/L2", "../../tmp/x"),
        Item::File("p/q/L1/L2/pwned.txt", b"owned", 0o644),
    ]);
    assert!(escapes(&zip));
    // Order does not matter: the entry may come before the link it would go through.
    let zip = build(&[Item::File("d/L/f.txt", b"x", 0o644), Item::Link("d/L", ".")]);
    assert!(escapes(&zip));
}

/// Lexically inside, physically outside: the target goes through another link of the package.
#[test]
fn follows_links_through_other_links() {
    let zip = build(&[
        Item::Link("a/b/L1", ".."),
        Item::Link("c", "a/b/L1/../../../etc"),
    ]);
    assert!(escapes(&zip));
    let looped = build(&[Item::Link("x", "y/z"), Item::Link("y", "x")]);
    assert!(escapes(&looped));
    let fine = build(&[Item::Link("a/L", "."), Item::Link("c", "a/L/../f")]);
    assert!(walk(&fine).is_ok());
}

#[test]
fn refuses_duplicates_and_entries_below_files() {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file("a", SimpleFileOptions::default()).unwrap();
    w.add_symlink("a/", "x", SimpleFileOptions::default())
        .unwrap();
    let dup = w.finish().unwrap().into_inner();
    assert!(walk(&dup).is_err());
    let below = build(&[Item::File("f", b"1", 0o644), Item::File("f/g", b"2", 0o644)]);
    assert!(matches!(walk(&below), Err(ZipRejection::Corrupt(_))));
    // A directory given twice, or implied and then given, is fine.
    let dirs = build(&[
        Item::File("d/x", b"1", 0o644),
        Item::Dir("d/"),
        Item::Dir("./d/"),
    ]);
    assert!(walk(&dirs).is_ok());
}

#[test]
fn counts_against_the_limit_even_when_the_visitor_reads_nothing() {
    let zip = build(&[
        Item::File("a", &[0u8; 700_000], 0o644),
        Item::File("b", &[0u8; 700_000], 0o644),
    ]);
    let r = walk_zip(&zip, 1 << 20, |_, _| Ok(()));
    assert!(matches!(
        r,
        Err(WalkError::Rejected(ZipRejection::UnzippedTooLarge(_)))
    ));
    let ok = walk_zip(&zip, 2 << 20, |_, _| Ok(())).unwrap();
    assert_eq!(ok.unzipped_size, 1_400_000);
    assert_eq!(ok.entries, 2);
}

/// Patches the uncompressed size an entry declares, in its local header and the central
/// directory, as a crafted zip would.
fn lie_about_size(zip: &mut [u8], declared: u32) {
    let sig_local = [0x50, 0x4b, 0x03, 0x04];
    let sig_central = [0x50, 0x4b, 0x01, 0x02];
    for i in 0..zip.len() - 4 {
        if zip[i..i + 4] == sig_local {
            zip[i + 22..i + 26].copy_from_slice(&declared.to_le_bytes());
        } else if zip[i..i + 4] == sig_central {
            zip[i + 24..i + 28].copy_from_slice(&declared.to_le_bytes());
        }
    }
}

#[test]
fn refuses_entries_whose_size_lies() {
    for declared in [10u32, 1_000_000] {
        let mut zip = build(&[Item::File("f", &[7u8; 5000], 0o644)]);
        lie_about_size(&mut zip, declared);
        assert!(
            matches!(walk(&zip), Err(ZipRejection::Corrupt(_))),
            "declared {declared}"
        );
    }
}

#[test]
fn visitor_failures_are_not_rejections() {
    let zip = build(&[Item::File("f", b"x", 0o644)]);
    let r = walk_zip(&zip, 1 << 20, |_, _| Err(io::Error::other("disk full")));
    assert!(matches!(r, Err(WalkError::Io(_))));
}
