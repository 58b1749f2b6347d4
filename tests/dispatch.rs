//! Dispatch: detection, the MAXSIM_ISA cap, and the proof that CI's expected ISA really ran.

mod common;

use common::{expected_isa, isas_under_test, random_buffer, Rng, Values, EXPECT_ENV};
use maxsim::{select_isa, Error, Isa, PreparedQuery, TokenMatrix};

#[test]
fn best_supported_is_supported_and_scalar_always_is() {
    let supported = maxsim::supported_isas();
    assert!(supported.contains(&Isa::Scalar));
    assert!(supported.contains(&Isa::best_supported()));
    // Nothing this CPU runs outranks dispatch's choice, except AVX-512 on CPUs whose AVX-512
    // multiversion deliberately passes over (pre-Ice Lake).
    let best = Isa::best_supported();
    for isa in &supported {
        assert!(
            isa.rank() <= best.rank() || (*isa == Isa::Avx512 && best == Isa::Avx2Fma),
            "{isa} outranks dispatched {best}"
        );
    }
}

#[test]
fn caps_lower_the_choice_and_never_raise_it() {
    let best = Isa::best_supported();
    assert_eq!(select_isa(None).unwrap(), best);
    assert_eq!(select_isa(Some("")).unwrap(), best);
    assert_eq!(select_isa(Some("scalar")).unwrap(), Isa::Scalar);
    assert_eq!(select_isa(Some(" SCALAR ")).unwrap(), Isa::Scalar);
    if cfg!(target_arch = "x86_64") {
        let avx2 = select_isa(Some("avx2")).unwrap();
        assert_eq!(
            avx2,
            if Isa::Avx2Fma.is_supported() {
                Isa::Avx2Fma
            } else {
                Isa::Scalar
            }
        );
        assert_eq!(select_isa(Some("avx512")).unwrap(), best);
        assert_eq!(
            select_isa(Some("neon")).unwrap_err(),
            Error::ForeignIsa {
                isa: Isa::Neon,
                arch: "x86_64"
            }
        );
    }
    if cfg!(target_arch = "aarch64") {
        assert_eq!(select_isa(Some("neon")).unwrap(), Isa::Neon);
        assert!(matches!(
            select_isa(Some("avx2")),
            Err(Error::ForeignIsa { .. })
        ));
    }
}

#[test]
fn unknown_isa_names_are_a_clear_error() {
    let err = select_isa(Some("sse9")).unwrap_err();
    assert_eq!(
        err,
        Error::UnknownIsa {
            name: "sse9".into()
        }
    );
    let text = err.to_string();
    assert!(text.contains("sse9") && text.contains("avx512"), "{text}");
}

#[test]
fn isa_names_round_trip() {
    for isa in Isa::ALL {
        assert_eq!(Isa::from_name(isa.name()), Some(isa));
        assert_eq!(isa.to_string(), isa.name());
    }
    assert_eq!(Isa::from_name("AVX2+FMA"), Some(Isa::Avx2Fma));
    assert_eq!(Isa::from_name("avx512f"), Some(Isa::Avx512));
}

/// The proof CI relies on: when it says which ISA this run must use (MAXSIM_EXPECT_ISA), the
/// dispatcher picks it, a prepared query reports it, and its kernel runs and matches the
/// reference. Without the variable the same checks run for whatever dispatch picks.
#[test]
fn expected_isa_is_dispatched_and_runs() {
    let isas = isas_under_test();
    let dispatched = maxsim::selected_isa().unwrap();
    if let Some(expected) = expected_isa() {
        assert_eq!(
            dispatched, expected,
            "{EXPECT_ENV}={expected} but dispatch chose {dispatched}"
        );
    }
    let mut rng = Rng(7);
    let q = random_buffer(&mut rng, 33, 129, 1, Values::Mixed);
    let d = random_buffer(&mut rng, 47, 129, 3, Values::Mixed);
    let (query, doc) = (
        TokenMatrix::new(&q[1..], 129).unwrap(),
        TokenMatrix::new(&d[3..], 129).unwrap(),
    );
    let prepared = PreparedQuery::new(query).unwrap();
    assert_eq!(prepared.isa(), dispatched);
    let reference = maxsim::maxsim_with_isa(query, doc, Isa::Scalar).unwrap();
    assert_eq!(prepared.score(doc).unwrap().to_bits(), reference.to_bits());
    eprintln!(
        "ISA-PROOF: dispatched={dispatched} ran and matched the reference; kernels tested: {}",
        isas.iter().map(|i| i.name()).collect::<Vec<_>>().join(",")
    );
}
