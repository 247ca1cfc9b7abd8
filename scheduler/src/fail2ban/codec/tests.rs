//! The golden replies of PROTOCOL.md §3.4 (fail2ban 1.0.2 on Python 3.11), round trips
//! of our requests, and hostile input.

use proptest::prelude::*;

use super::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn s(v: &str) -> Value {
    Value::Str(v.into())
}

fn ok(body: &str) -> Value {
    match decode_reply(&hex(body)).expect("decodes") {
        Reply::Ok(v) => v,
        other => panic!("expected (0, value), got {other:?}"),
    }
}

#[test]
fn golden_ping() {
    assert_eq!(
        ok("8005950c000000000000004b008c04706f6e679486942e"),
        s("pong")
    );
}

#[test]
fn golden_status() {
    let v = ok(
        "80059541000000000000004b005d94288c0e4e756d626572206f66206a61696c944b0286948c094a61696c206c697374948c12746573742d7373682c20746573742d7765629486946586942e",
    );
    assert_eq!(
        v,
        Value::List(vec![
            Value::Tuple(vec![s("Number of jail"), Value::Int(2)]),
            Value::Tuple(vec![s("Jail list"), s("test-ssh, test-web")]),
        ])
    );
}

#[test]
fn golden_jail_status_with_ips_as_builtins_str() {
    let v = ok(
        "80059517010000000000004b005d94288c0646696c746572945d94288c1043757272656e746c79206661696c6564944b0086948c0c546f74616c206661696c6564944b0086948c0946696c65206c697374945d948c152f746d702f6632622d746573742f7765622e6c6f67946186946586948c07416374696f6e73945d94288c1043757272656e746c792062616e6e6564944b0486948c0c546f74616c2062616e6e6564944df40a86948c0e42616e6e6564204950206c697374945d94288c086275696c74696e73948c037374729493948c0831302e312e322e33948594529468168c0831302e312e322e34948594529468168c0a3139322e302e322e3130948594529468168c0b323030313a6462383a3a3594859452946586946586946586942e",
    );
    let t = |k: &str, v: Value| Value::Tuple(vec![s(k), v]);
    assert_eq!(
        v,
        Value::List(vec![
            t(
                "Filter",
                Value::List(vec![
                    t("Currently failed", Value::Int(0)),
                    t("Total failed", Value::Int(0)),
                    t("File list", Value::List(vec![s("/tmp/f2b-test/web.log")])),
                ])
            ),
            t(
                "Actions",
                Value::List(vec![
                    t("Currently banned", Value::Int(4)),
                    t("Total banned", Value::Int(2804)),
                    t(
                        "Banned IP list",
                        Value::List(vec![
                            s("10.1.2.3"),
                            s("10.1.2.4"),
                            s("192.0.2.10"),
                            s("2001:db8::5")
                        ])
                    ),
                ])
            ),
        ])
    );
}

#[test]
fn golden_unknown_jail_is_a_typed_server_error() {
    let r = decode_reply(&hex("80059541000000000000004b018c136661696c3262616e2e657863657074696f6e73948c14556e6b6e6f776e4a61696c457863657074696f6e9493948c066e6f6a61696c948594529486942e")).expect("decodes");
    let Reply::Raised(e) = r else { panic!("{r:?}") };
    assert_eq!(e.class, "fail2ban.exceptions.UnknownJailException");
    assert_eq!(e.message, "nojail");
    assert!(e.is_unknown_jail());
}

#[test]
fn golden_value_error_keeps_its_message() {
    let r = decode_reply(&hex("8005953d000000000000004b018c086275696c74696e73948c0a56616c75654572726f729493948c176e6f742062616e6e65643a205b27392e392e392e39275d948594529486942e")).expect("decodes");
    assert_eq!(
        r,
        Reply::Raised(ServerError {
            class: "builtins.ValueError".into(),
            message: "not banned: ['9.9.9.9']".into()
        })
    );
}

#[test]
fn golden_banned_dicts_with_memoised_str_global() {
    let v = ok(
        "8005959a000000000000004b005d94287d948c08746573742d737368945d948c086275696c74696e73948c037374729493948c0b3230332e302e3131332e39948594529461737d948c08746573742d776562945d942868068c0831302e312e322e33948594529468068c0831302e312e322e34948594529468068c0a3139322e302e322e3130948594529468068c0b323030313a6462383a3a35948594529465736586942e",
    );
    assert_eq!(
        v,
        Value::List(vec![
            Value::Dict(vec![(s("test-ssh"), Value::List(vec![s("203.0.113.9")]))]),
            Value::Dict(vec![(
                s("test-web"),
                Value::List(vec![
                    s("10.1.2.3"),
                    s("10.1.2.4"),
                    s("192.0.2.10"),
                    s("2001:db8::5")
                ])
            )]),
        ])
    );
}

#[test]
fn golden_datepattern_tuple_with_none() {
    assert_eq!(
        ok("80059519000000000000004b004e8c0e7b5e4c4e2d4245477d45706f636894869486942e"),
        Value::Tuple(vec![Value::None, s("{^LN-BEG}Epoch")])
    );
}

#[test]
fn golden_false() {
    assert_eq!(ok("80059506000000000000004b008986942e"), Value::Bool(false));
}

#[test]
fn a_bare_error_string_is_a_protocol_error() {
    // pickle.dumps("ERROR: bad", 2)
    let mut p = vec![0x80, 0x02, b'X', 10, 0, 0, 0];
    p.extend_from_slice(b"ERROR: bad");
    p.push(b'.');
    assert_eq!(
        decode_reply(&p).expect("decodes"),
        Reply::ProtocolError("ERROR: bad".into())
    );
}

#[test]
fn ping_request_matches_the_documented_bytes() {
    let mut expected = hex("80025d28580400000070696e67652e");
    expected.extend_from_slice(END_COMMAND);
    assert_eq!(encode_request(&["ping"]).expect("valid"), expected);
}

#[test]
fn requests_with_the_reserved_marker_or_nul_are_refused() {
    assert_eq!(
        encode_request(&["set", "x", "banip", "1.2.3.4<F2B_END_COMMAND>"]),
        Err(ArgumentError::ReservedMarker)
    );
    assert_eq!(encode_request(&["a\0b"]), Err(ArgumentError::Nul));
}

#[test]
fn protocol_0_and_2_opcodes_decode() {
    // (I01\n, I00\n, I42\n, G 1.5, LONG1 -2, c builtins\nstr\n ('x',) R) as a tuple
    let mut p = b"(I01\nI00\nI42\n".to_vec();
    p.push(b'G');
    p.extend_from_slice(&1.5f64.to_be_bytes());
    p.extend_from_slice(&[0x8a, 1, 0xfe]);
    p.extend_from_slice(b"cbuiltins\nstr\n(U\x01xtR");
    p.extend_from_slice(b"t.");
    assert_eq!(
        decode(&p).expect("decodes"),
        Value::Tuple(vec![
            Value::Bool(true),
            Value::Bool(false),
            Value::Int(42),
            Value::Float(1.5),
            Value::Int(-2),
            s("x"),
        ])
    );
}

#[test]
fn long_integers_that_do_not_fit_are_refused() {
    assert_eq!(long_to_i64(&[0xff; 8]).expect("fits"), -1);
    assert_eq!(
        long_to_i64(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00]).ok(),
        None
    );
    assert_eq!(long_to_i64(&[1, 0, 0, 0, 0, 0, 0, 0, 0]).expect("fits"), 1);
}

#[test]
fn oversized_replies_are_refused_before_any_work() {
    let huge = vec![b'N'; MAX_REPLY_BYTES + 1];
    assert_eq!(decode(&huge), Err(DecodeError::TooLarge));
}

#[test]
fn memo_indices_beyond_the_limit_are_refused() {
    let mut p = vec![b'N', b'r'];
    p.extend_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(decode(&p), Err(DecodeError::MemoLimit));
}

#[test]
fn memo_copy_bombs_are_refused() {
    // A list of 1000 Nones, memoised, then copied into a list again and again: each
    // BINGET would double the output. The copy budget stops it.
    let mut p = vec![b']', b'('];
    p.extend(std::iter::repeat_n(b'N', 1000));
    p.extend_from_slice(&[b'e', 0x94]);
    for _ in 0..200 {
        p.extend_from_slice(&[b'h', 0, b'a']);
    }
    p.push(b'.');
    // Not nested (APPEND onto the memoised list object is our copy), but 200 copies of
    // a 1001-node value far exceed 4 nodes per input byte.
    assert_eq!(decode(&p), Err(DecodeError::MemoLimit));
}

#[test]
fn deep_nesting_is_refused() {
    let mut p = vec![b']'; 200];
    p.extend(std::iter::repeat_n(b'a', 199));
    p.push(b'.');
    assert_eq!(
        decode(&p),
        Err(DecodeError::Malformed("containers nested too deeply"))
    );
}

/// A test-only encoder that uses many opcodes, to check the decoder against values.
fn encode_value(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::None => out.push(b'N'),
        Value::Bool(b) => out.push(if *b { 0x88 } else { 0x89 }),
        Value::Int(i) => match *i {
            0..=255 => out.extend_from_slice(&[b'K', *i as u8]),
            256..=65535 => {
                out.push(b'M');
                out.extend_from_slice(&(*i as u16).to_le_bytes());
            }
            x if i32::try_from(x).is_ok() => {
                out.push(b'J');
                out.extend_from_slice(&(x as i32).to_le_bytes());
            }
            x => {
                out.extend_from_slice(&[0x8a, 8]);
                out.extend_from_slice(&x.to_le_bytes());
            }
        },
        Value::Float(x) => {
            out.push(b'G');
            out.extend_from_slice(&x.to_be_bytes());
        }
        Value::Str(s) if s.len() < 256 => {
            out.extend_from_slice(&[0x8c, s.len() as u8]);
            out.extend_from_slice(s.as_bytes());
            out.push(0x94);
        }
        Value::Str(s) => {
            out.push(b'X');
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        Value::Bytes(b) => {
            out.push(b'B');
            out.extend_from_slice(&(b.len() as u32).to_le_bytes());
            out.extend_from_slice(b);
        }
        Value::List(items) => {
            out.extend_from_slice(&[b']', 0x94, b'(']);
            items.iter().for_each(|i| encode_value(i, out));
            out.push(b'e');
        }
        Value::Tuple(items) => {
            out.push(b'(');
            items.iter().for_each(|i| encode_value(i, out));
            out.push(b't');
        }
        Value::Dict(kv) => {
            out.extend_from_slice(b"}(");
            for (k, v) in kv {
                encode_value(k, out);
                encode_value(v, out);
            }
            out.push(b'u');
        }
        Value::Set(items) => {
            out.extend_from_slice(&[0x8f, b'(']);
            items.iter().for_each(|i| encode_value(i, out));
            out.push(0x90);
        }
        Value::Global { .. } | Value::Object { .. } => unreachable!("not generated"),
    }
}

fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::None),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        any::<f64>()
            .prop_filter("NaN != NaN", |x| !x.is_nan())
            .prop_map(Value::Float),
        ".{0,300}".prop_map(Value::Str),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::List),
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Tuple),
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Set),
            proptest::collection::vec((inner.clone(), inner), 0..6).prop_map(Value::Dict),
        ]
    })
}

proptest! {
    #[test]
    fn encoded_requests_decode_to_the_same_strings(args in proptest::collection::vec("[^\0]{0,80}", 0..12)) {
        prop_assume!(args.iter().all(|a| !a.contains("<F2B_")));
        let bytes = encode_request(&args).expect("valid");
        prop_assert!(bytes.ends_with(END_COMMAND));
        let body = &bytes[..bytes.len() - END_COMMAND.len()];
        prop_assert!(!body.windows(END_COMMAND.len()).any(|w| w == END_COMMAND), "terminator inside the body");
        let expected = Value::List(args.iter().map(|a| Value::Str(a.clone())).collect());
        prop_assert_eq!(decode(body).expect("decodes"), expected);
    }

    #[test]
    fn values_round_trip_through_many_opcodes(v in arb_value()) {
        let mut bytes = vec![0x80, 4];
        encode_value(&v, &mut bytes);
        bytes.push(b'.');
        prop_assert_eq!(decode(&bytes).expect("decodes"), v);
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_reply(&bytes);
    }

    #[test]
    fn every_truncation_of_a_valid_reply_fails_cleanly(cut in 0usize..300) {
        let full = hex("80059517010000000000004b005d94288c0646696c746572945d94288c1043757272656e746c79206661696c6564944b0086948c0c546f74616c206661696c6564944b0086948c0946696c65206c697374945d948c152f746d702f6632622d746573742f7765622e6c6f67946186946586948c07416374696f6e73945d94288c1043757272656e746c792062616e6e6564944b0486948c0c546f74616c2062616e6e6564944df40a86948c0e42616e6e6564204950206c697374945d94288c086275696c74696e73948c037374729493948c0831302e312e322e33948594529468168c0831302e312e322e34948594529468168c0a3139322e302e322e3130948594529468168c0b323030313a6462383a3a3594859452946586946586946586942e");
        let cut = cut.min(full.len() - 1);
        prop_assert!(decode_reply(&full[..cut]).is_err());
    }

    #[test]
    fn mutated_valid_replies_never_panic(pos in 0usize..279, byte in any::<u8>()) {
        let mut full = hex("80059517010000000000004b005d94288c0646696c746572945d94288c1043757272656e746c79206661696c6564944b0086948c0c546f74616c206661696c6564944b0086948c0946696c65206c697374945d948c152f746d702f6632622d746573742f7765622e6c6f67946186946586948c07416374696f6e73945d94288c1043757272656e746c792062616e6e6564944b0486948c0c546f74616c2062616e6e6564944df40a86948c0e42616e6e6564204950206c697374945d94288c086275696c74696e73948c037374729493948c0831302e312e322e33948594529468168c0831302e312e322e34948594529468168c0a3139322e302e322e3130948594529468168c0b323030313a6462383a3a3594859452946586946586946586942e");
        let pos = pos % full.len();
        full[pos] = byte;
        let _ = decode_reply(&full);
    }
}
