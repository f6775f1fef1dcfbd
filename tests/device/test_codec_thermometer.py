"""GY-MCU90614/90615 "5A 5A" codec: every [V] frame of the reference, stream faults, fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from device.hardware.codecs import thermometer as gy
from device.hardware.codecs.thermometer import FrameDecoder, Rejected, TemperatureFrame


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def frames(items: list[object]) -> list[TemperatureFrame]:
    return [i for i in items if isinstance(i, TemperatureFrame)]


# (frame, object C, ambient C): the vendor example and the two constructed ones (reference 1.2)
REFERENCE_FRAMES = [
    ("5A 5A 45 04 0C 78 0D 19 A7", 31.92, 33.53),
    ("5A 5A 45 04 0D 5C 09 CE 3D", 34.20, 25.10),
    ("5A 5A 45 04 FE 0C 09 CE DE", -5.00, 25.10),
]


@pytest.mark.parametrize(("hexframe", "obj", "amb"), REFERENCE_FRAMES)
def test_reference_frames_decode(hexframe: str, obj: float, amb: float) -> None:
    out = FrameDecoder().feed(h(hexframe), 0.0)
    assert out == [TemperatureFrame(round(obj * 100), round(amb * 100), h(hexframe))]
    assert (out[0].object_c, out[0].ambient_c) == (obj, amb)  # type: ignore[union-attr]


@pytest.mark.parametrize(("hexframe", "obj", "amb"), REFERENCE_FRAMES)
def test_encoder_reproduces_reference_frames(hexframe: str, obj: float, amb: float) -> None:
    assert gy.encode_frame(gy.to_raw(obj), gy.to_raw(amb)) == h(hexframe)


@pytest.mark.parametrize(
    ("command", "wire"),
    [
        (gy.Command.CONTINUOUS, "A5 45 EA"),
        (gy.Command.QUERY, "A5 15 BA"),
        (gy.Command.BAUD_9600, "A5 AE 53"),
        (gy.Command.BAUD_115200, "A5 AF 54"),
        (gy.Command.AUTOSTART_ON, "A5 51 F6"),
        (gy.Command.AUTOSTART_OFF, "A5 52 F7"),
    ],
)
def test_reference_commands(command: gy.Command, wire: str) -> None:
    assert gy.encode_command(command) == h(wire)
    assert gy.CommandDecoder().feed(h(wire)) == [command]


def test_command_with_wrong_sum_is_refused() -> None:
    out = gy.CommandDecoder().feed(h("A5 45 EB A5 15 BA"))
    assert isinstance(out[0], Rejected)
    assert out[-1] == gy.Command.QUERY


def test_split_frame_across_reads() -> None:
    dec = FrameDecoder()
    wire = h(REFERENCE_FRAMES[1][0])
    assert dec.feed(wire[:3], 0.0) == []
    assert dec.feed(wire[3:7], 0.01) == []
    assert frames(dec.feed(wire[7:], 0.02))[0].object_raw == 3420


def test_merged_frames_in_one_read_come_out_in_order() -> None:
    wire = b"".join(h(f) for f, _, _ in REFERENCE_FRAMES)
    assert [f.object_raw for f in frames(FrameDecoder().feed(wire, 0.0))] == [3192, 3420, -500]


def test_garbage_prefix_is_reported_and_skipped() -> None:
    out = FrameDecoder().feed(b"\x00\xff\x13" + h(REFERENCE_FRAMES[0][0]), 0.0)
    assert out[0] == Rejected("no_header", b"\x00\xff\x13")
    assert frames(out)[0].object_raw == 3192


def test_bad_checksum_resyncs_on_the_next_frame() -> None:
    bad = bytearray(h(REFERENCE_FRAMES[0][0]))
    bad[-1] ^= 1
    out = FrameDecoder().feed(bytes(bad) + h(REFERENCE_FRAMES[1][0]), 0.0)
    assert out[0] == Rejected("bad_checksum", bytes(bad))
    assert [f.object_raw for f in frames(out)] == [3420]


def test_stray_5a_bytes_before_a_frame() -> None:
    out = FrameDecoder().feed(b"\x5a\x5a\x5a" + h(REFERENCE_FRAMES[1][0]), 0.0)
    assert [f.object_raw for f in frames(out)] == [3420]


def test_5a_inside_data_does_not_break_framing() -> None:
    wire = gy.encode_frame(0x5A5A, 0x5A5A)
    assert frames(FrameDecoder().feed(wire * 2, 0.0)) == [
        TemperatureFrame(0x5A5A, 0x5A5A, wire),
        TemperatureFrame(0x5A5A, 0x5A5A, wire),
    ]


def test_partial_frame_then_silence_is_discarded() -> None:
    dec = FrameDecoder()
    wire = h(REFERENCE_FRAMES[0][0])
    assert dec.feed(wire[:5], 0.0) == []
    out = dec.feed(wire, 0.5)
    assert out[0] == Rejected("partial_timeout", wire[:5])
    assert frames(out)[0].object_raw == 3192


def test_other_gy_module_frame_is_not_a_temperature() -> None:
    wire = gy.encode_frame(100, 200, frame_type=0x25)
    out = FrameDecoder().feed(wire, 0.0)
    assert out == [Rejected("unexpected_type_25_len_4", wire)]


def test_implausible_length_is_refused_without_waiting() -> None:
    out = FrameDecoder().feed(h("5A 5A 45 FF 00"), 0.0)
    assert out[0].reason == "bad_length"  # type: ignore[union-attr]


def _is_valid_frame(raw: bytes) -> bool:
    return len(raw) == 9 and raw[:4] == h("5A 5A 45 04") and sum(raw[:-1]) & 0xFF == raw[-1]


@settings(max_examples=2500, deadline=None)
@given(st.binary(max_size=200), st.lists(st.integers(1, 16), max_size=10))
def test_fuzz_random_bytes_never_raise_or_accept_a_false_frame(
    data: bytes, cuts: list[int]
) -> None:
    dec = FrameDecoder()
    now, pos = 0.0, 0
    for cut in [*cuts, len(data)]:
        for item in dec.feed(data[pos : pos + cut], now):
            if isinstance(item, TemperatureFrame):
                assert _is_valid_frame(item.raw)
                assert item.raw in data
            else:
                assert isinstance(item, Rejected)
        pos += cut
        now += 0.01
    assert dec.pending() <= 20


@settings(max_examples=2000, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(-32768, 32767),
            st.integers(-32768, 32767),
            st.binary(max_size=12).map(lambda b: bytes(x for x in b if x != 0x5A)),
        ),
        max_size=8,
    ),
    st.integers(1, 9),
)
def test_fuzz_frames_between_junk_all_recovered(
    parts: list[tuple[int, int, bytes]], chunk: int
) -> None:
    wire = b"".join(junk + gy.encode_frame(o, a) for o, a, junk in parts)
    dec = FrameDecoder()
    got: list[TemperatureFrame] = []
    for i in range(0, len(wire), chunk):
        got += frames(dec.feed(wire[i : i + chunk], 0.0))
    assert [(f.object_raw, f.ambient_raw) for f in got] == [(o, a) for o, a, _ in parts]


@settings(max_examples=1000, deadline=None)
@given(st.binary(max_size=64))
def test_fuzz_command_decoder(data: bytes) -> None:
    for item in gy.CommandDecoder().feed(data):
        if isinstance(item, int):
            assert bytes((0xA5, item, (0xA5 + item) & 0xFF)) in data
