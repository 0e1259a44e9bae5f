//! Reads fpae's ISO/IEC 19794-2:2005 records with nbis-rs 0.1.0 (its own ISO
//! reader, NBIS's ANSI/INCITS 378 angle convention, and NIST's C BOZORTH3
//! compiled in) and compares them with fpae's JSON and xyt output of the same
//! prints: every minutia exactly, and the C BOZORTH3 score of every ordered
//! pair of records with fpae's score of the xyt files.
//!
//! Usage: `templates-check DIR STEM...`, where DIR holds `STEM.ist`,
//! `STEM.xyt` and `STEM.json` for each STEM. Exits with 1 on any difference.
use std::path::Path;

const MAX: usize = 200;
#[repr(C)]
struct XytStruct {
    nrows: i32,
    xcol: [i32; MAX],
    ycol: [i32; MAX],
    thetacol: [i32; MAX],
}
unsafe extern "C" {
    fn bozorth_main(p: *const XytStruct, g: *const XytStruct) -> i32;
}

/// As NBIS bz_load does before matching: theta folded to (-180, 180], sorted by x then y.
fn c_struct(mut rows: Vec<(i32, i32, i32)>) -> XytStruct {
    for r in &mut rows {
        if r.2 > 180 {
            r.2 -= 360;
        }
    }
    rows.sort_by_key(|r| (r.0, r.1));
    let mut s = XytStruct { nrows: rows.len() as i32, xcol: [0; MAX], ycol: [0; MAX], thetacol: [0; MAX] };
    for (i, r) in rows.iter().enumerate() {
        (s.xcol[i], s.ycol[i], s.thetacol[i]) = *r;
    }
    s
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = Path::new(&args[1]);
    let stems = &args[2..];
    let (mut nbis_sets, mut xyts) = (Vec::new(), Vec::new());
    let (mut agree, mut total) = (0, 0);
    for stem in stems {
        let ist = std::fs::read(dir.join(format!("{stem}.ist"))).unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{stem}.json"))).unwrap()).unwrap();
        let height = json["height"].as_i64().unwrap() as i32;
        let m = nbis::load_iso_19794_2_2005(&ist).expect("nbis-rs reads the record");
        let ours = json["minutiae"].as_array().unwrap();
        let theirs = m.get();
        assert_eq!(theirs.len(), ours.len(), "{stem}: minutiae count");
        let mut rows = Vec::new();
        for (a, b) in ours.iter().zip(&theirs) {
            total += 1;
            // nbis-rs keeps MINDTCT's direction d (11.25 degree units) and gives
            // angle() = 90 - 11.25 d; NBIS's xyt theta is 270 - sround(11.25 d).
            let direction_degrees = (90.0 - b.angle()).rem_euclid(360.0);
            let theta = (270 - direction_degrees.round() as i32).rem_euclid(360);
            let kind_ok = matches!(
                (a["kind"].as_str(), b.kind()),
                (Some("ending"), nbis::MinutiaKind::RidgeEnding)
                    | (Some("bifurcation"), nbis::MinutiaKind::Bifurcation)
            );
            if a["x"].as_i64() == Some(b.x() as i64)
                && a["y"].as_i64() == Some(b.y() as i64)
                && a["angle"].as_i64() == Some(theta as i64)
                && kind_ok
            {
                agree += 1;
            } else {
                println!(
                    "{stem}: ours {a} theirs ({}, {}, angle() {:.2} -> theta {theta}, {:?})",
                    b.x(),
                    b.y(),
                    b.angle(),
                    b.kind()
                );
            }
            rows.push((b.x(), height - b.y(), theta));
        }
        let xyt: Vec<fprint_bozorth3::Minutia> = std::fs::read_to_string(dir.join(format!("{stem}.xyt")))
            .unwrap()
            .lines()
            .map(|l| {
                let v: Vec<i32> = l.split(' ').map(|f| f.parse().unwrap()).collect();
                fprint_bozorth3::Minutia::from_xyt(v[0], v[1], v[2])
            })
            .collect();
        if nbis_sets.is_empty() {
            let _ = m.compare(&m); // sets NBIS's error stream before the direct calls below
        }
        nbis_sets.push(c_struct(rows));
        xyts.push(xyt);
    }
    println!(
        "nbis-rs: {agree} of {total} minutiae agree exactly (position, type, xyt theta recovered from the ISO angle)"
    );
    let (mut same, mut pairs) = (0, 0);
    for i in 0..stems.len() {
        for j in 0..stems.len() {
            if i == j {
                continue;
            }
            pairs += 1;
            let c = unsafe { bozorth_main(&nbis_sets[i], &nbis_sets[j]) };
            let r = fprint_bozorth3::match_score(&xyts[i], &xyts[j]) as i32;
            if c == r {
                same += 1;
            } else {
                println!(
                    "{} vs {}: NIST C BOZORTH3 on the ISO records {c}, fpae on the xyt files {r}",
                    stems[i], stems[j]
                );
            }
        }
    }
    println!("NIST C BOZORTH3 on the records read by nbis-rs: {same} of {pairs} scores equal to fpae's");
    if agree != total || same != pairs {
        std::process::exit(1);
    }
}
