"""The tile tables: compiled configurations, the tuned table round trip, the on-disk validator,
explain(), and (on CUDA) forcing every configuration and the autotuner's cache round trip."""

import json

import pytest
import torch

import tilekernels
from tilekernels.tuning import tables
from helpers import assert_close_to_reference, nan_like, poison_allocator, random_tensor

BMM_SMEM_LIMIT_SM89 = 101376  # 99 KB: the most an sm_89 block may opt into


@pytest.fixture
def restore_tuned_tables():
    """Tests that clear the in-memory tuned table put the bundled/user tables back afterwards."""
    yield
    for family in tables.FAMILIES:
        torch.ops.kernels._tile_table_clear(family)
    tables.load_tables()


@pytest.mark.parametrize("family", ["bmm", "attention"])
def test_tile_configs_describe_resources(family):
    configs = tilekernels.tile_configs(family)
    assert configs, f"the {family} table is empty"
    assert [c["id"] for c in configs] == list(range(len(configs)))
    assert len({c["name"] for c in configs}) == len(configs), "configuration names must be unique"
    for c in configs:
        assert c["threads"] % 32 == 0 and 32 <= c["threads"] <= 1024, c
        compiled = c["compiled"] if family == "attention" else bool(c["compiled_layouts"])
        if not compiled:
            # A row's shared memory is what its compiled kernel computes for its layout.
            assert c["smem_bytes"] is None, c
            continue
        assert c["smem_bytes"] > 0, c
        if c["min_arch"] <= 89:
            assert c["smem_bytes"] <= BMM_SMEM_LIMIT_SM89, f"{c['name']} is enabled for sm_89 but needs {c['smem_bytes']} B"


def test_tuned_table_round_trip(restore_tuned_tables):
    torch.ops.kernels._tile_table_clear("bmm")
    torch.ops.kernels._tile_table_set("bmm", "some|key", 0)
    assert tables.tuned_entries("bmm") == {"some|key": 0}
    torch.ops.kernels._tile_table_clear("bmm")
    assert tables.tuned_entries("bmm") == {}
    with pytest.raises(ValueError, match="no bmm configuration"):
        torch.ops.kernels._tile_table_set("bmm", "k", 10**6)
    with pytest.raises(ValueError, match="unknown kernel family"):
        torch.ops.kernels._tile_configs("conv")


def test_stale_tables_are_ignored():
    meta = {"format": 1, "library": "0.1.0", "torch": "2.11.0", "cuda": "13.0", "arch": 90, "device": "GPU"}
    assert tables.stale_reason(dict(meta), meta, strict=True) is None
    assert "library" in tables.stale_reason(dict(meta, library="0.0.9"), meta, strict=False)
    assert "arch" in tables.stale_reason(dict(meta, arch=89), meta, strict=False)
    # Bundled tables survive a torch upgrade; the user's cache does not.
    assert tables.stale_reason(dict(meta, torch="2.13.0"), meta, strict=False) is None
    assert "torch" in tables.stale_reason(dict(meta, torch="2.13.0"), meta, strict=True)


def _write_table(folder, device, arch, sms, entries):
    table = {"format": 1, "library": tables.library_version(), "torch": "2.11.0", "cuda": "13.0", "arch": arch,
             "device": device, "sms": sms, "entries": entries}
    path = folder / tables.device_file_name(device)
    path.write_text(json.dumps(table))
    return path


def test_gpu_without_a_table_borrows_the_nearest_of_its_architecture(tmp_path, monkeypatch):
    monkeypatch.setattr(tables, "_BUNDLED_DIR", tmp_path)
    _write_table(tmp_path, "GPU A100", 80, 108, {})
    _write_table(tmp_path, "GPU H100 PCIe", 90, 114, {})
    h100 = _write_table(tmp_path, "GPU H100 SXM", 90, 132, {})
    meta = {"format": 1, "library": tables.library_version(), "torch": "2.11.0", "cuda": "13.0", "arch": 90,
            "device": "GPU H200", "sms": 132}
    assert tables.nearest_bundled_table(meta) == h100  # same architecture, same SM count
    assert tables.nearest_bundled_table(dict(meta, sms=78)) in {h100, tmp_path / "GPU_H100_PCIe.json"}
    assert tables.nearest_bundled_table(dict(meta, arch=100)) is None
    assert tables.nearest_bundled_table(dict(meta, library="0.0.1")) is None
    # A GPU with its own table never borrows.
    sources = tables._table_sources(dict(meta, device="GPU H100 SXM"))
    assert [(source, borrowed) for source, _, borrowed in sources] == [("bundled", False), ("user", False)]
    sources = tables._table_sources(meta)
    assert sources[0] == ("bundled", h100, True)


def test_retarget_renames_the_device_field_of_every_key():
    table = {"device": "GPU H100", "entries": {"bmm": {"bmm|GPU H100|sm90|fp16|am_bn|b1m2n3k4": "x"},
                                               "attention": {"attention|GPU H100|sm90|float16|full|d64|s": "y"}}}
    moved = tables.retarget(table, "GPU H200")
    assert moved["device"] == "GPU H200"
    assert moved["entries"] == {"bmm": {"bmm|GPU H200|sm90|fp16|am_bn|b1m2n3k4": "x"},
                                "attention": {"attention|GPU H200|sm90|float16|full|d64|s": "y"}}
    assert table["device"] == "GPU H100"  # the original is untouched


@pytest.mark.cuda
def test_borrowed_table_is_pushed_under_this_gpus_keys(tmp_path, monkeypatch, restore_tuned_tables):
    """A table tuned on another GPU of this architecture serves this GPU's keys, and explain() says so;
    the user's own entries still win."""
    meta = tables.current_meta(torch.cuda.current_device())
    a = random_tensor((3, 40, 24), torch.float16, "cuda")
    b = random_tensor((3, 24, 56), torch.float16, "cuda")
    torch.ops.kernels._tile_table_clear("bmm")
    plan = tilekernels.explain("bmm", a, b)
    key, candidates = plan["key"], plan["candidate_names"]
    assert len(candidates) >= 2, candidates
    config, other_config = candidates[0], candidates[-1]
    assert key.split("|")[1] == meta["device"]
    other_key = key.replace(f"|{meta['device']}|", "|Another GPU|")
    bundled = tmp_path / "bundled"
    bundled.mkdir()
    _write_table(bundled, "Another GPU", meta["arch"], meta["sms"], {"bmm": {other_key: config}})
    monkeypatch.setattr(tables, "_BUNDLED_DIR", bundled)
    monkeypatch.setenv("TILEKERNELS_CACHE_DIR", str(tmp_path / "user"))
    torch.ops.kernels._tile_table_clear("bmm")
    report = tables.load_tables()[meta["device"]]
    assert report["bundled"] == 1 and report["bundled_from"] == "Another GPU" and report["user"] == 0
    plan = tilekernels.explain("bmm", a, b)
    assert plan["source"] == "tuned" and plan["config_name"] == config
    assert plan["table"] == "bundled table of Another GPU"
    # The user's table wins over the borrowed one.
    (tmp_path / "user").mkdir()
    user = dict(meta, entries={"bmm": {key: other_config}})
    (tmp_path / "user" / tables.device_file_name(meta["device"])).write_text(json.dumps(user))
    torch.ops.kernels._tile_table_clear("bmm")
    report = tables.load_tables()[meta["device"]]
    assert report["user"] == 1
    plan = tilekernels.explain("bmm", a, b)
    assert plan["config_name"] == other_config and plan["table"].startswith("user table")


def test_push_maps_names_and_skips_unknown(restore_tuned_tables):
    torch.ops.kernels._tile_table_clear("attention")
    first = tilekernels.tile_configs("attention")[0]["name"]
    pushed = tables._push({"entries": {"attention": {"k1": first, "k2": "no-such-config"}}})
    assert pushed == 1 and tables.tuned_entries("attention") == {"k1": 0}


def test_explain_cpu():
    a = torch.randn(2, 3, 4)
    assert tilekernels.explain("bmm", a, torch.randn(2, 4, 5))["source"] == "cpu"
    with pytest.raises(ValueError, match="unknown op"):
        tilekernels.explain("conv", a)


def test_autotune_mode_switch():
    from tilekernels.tuning import autotune

    saved = autotune.autotune_mode()
    with pytest.raises(ValueError, match="autotune mode"):
        tilekernels.set_autotune_mode("sometimes")
    tilekernels.set_autotune_mode("on")
    assert autotune.autotune_mode() == "on"
    tilekernels.set_autotune_mode(saved)


def bmm_candidates(dtype, precision):
    a = random_tensor((3, 100, 72), dtype, "cuda")
    b = random_tensor((3, 72, 136), dtype, "cuda")
    plan = tilekernels.explain("bmm", a, b, precision=precision)
    return plan["candidates"]


def gpu_arch():
    major, minor = torch.cuda.get_device_capability()
    return 10 * major + minor


BMM_CASES = [(torch.float16, None), (torch.bfloat16, None), (torch.float32, "highest"), (torch.float32, "high")]


def serving_maths(dtype, precision):
    """The math modes of the table rows that serve a call of this dtype (fp32: at this precision)."""
    if dtype == torch.float16:
        return {"fp16"}
    if dtype == torch.bfloat16:
        return {"bf16"}
    return {"tf32"} if precision == "high" else {"tf32x3", "fp16x3", "ffma"}


@pytest.mark.cuda
@pytest.mark.parametrize("a_k_major", [True, False])
@pytest.mark.parametrize("b_k_major", [True, False])
@pytest.mark.parametrize("dtype, precision", BMM_CASES)
def test_every_bmm_config(dtype, precision, a_k_major, b_k_major):
    """Forces each compiled configuration on edge-heavy shapes and checks every output element. The
    last shape has more tiles than an H100 holds CTAs, so persistent rows walk several tiles per CTA
    (edge tiles, three k tiles with the last partial; C's rows 16-byte multiples, so rows that store
    via TMA walk too). Whole-k rows serve only k <= 64 (k = 37 ends inside a 16-byte chunk)."""
    shapes = [(3, 100, 136, 72), (2, 257, 129, 200), (1, 1, 1, 1), (2, 9, 300, 17 * 8), (2, 130, 260, 1000)]
    shapes += [(3, 100, 136, 37), (70, 130, 260, 64)]  # short k: the whole-k rows too
    exercised = set()
    for batch, m, n, k in shapes + [(200, 130, 264, 72)]:
        a = random_tensor((batch, m, k), dtype, "cuda")
        b = random_tensor((batch, k, n), dtype, "cuda")
        if not a_k_major:
            a = a.transpose(1, 2).contiguous().transpose(1, 2)
        if b_k_major:
            b = b.transpose(1, 2).contiguous().transpose(1, 2)
        plan = tilekernels.explain("bmm", a, b, precision=precision)
        assert plan["candidates"], "no configuration for this call"
        reference = torch.bmm(a.double(), b.double())
        theirs = torch.bmm(a, b)
        tol = {torch.float16: 2e-3, torch.bfloat16: 2e-2, torch.float32: 1e-5 if precision == "highest" else 1e-2}
        exercised.update(plan["candidates"])
        for config in plan["candidates"]:
            poison_allocator("cuda", nbytes=batch * m * n * a.element_size())  # unwritten tiles read NaN
            ours = torch.ops.kernels._bmm_with_config(a, b, config, precision=precision)
            if dtype == torch.float32 and precision == "high":
                relative = ((ours.double() - reference).norm() / reference.norm()).item()
                assert relative < 2e-3, (plan["candidate_names"], config, relative)
            else:
                assert_close_to_reference(ours, theirs, reference, atol=tol[dtype] * max(1.0, k ** 0.5))
    layout = ("ak" if a_k_major else "am") + ("bk" if b_k_major else "bn")
    configs = tilekernels.tile_configs("bmm")
    runnable = {c["id"] for c in configs if c["math"] in serving_maths(dtype, precision)
                and layout in c["compiled_layouts"] and c["min_arch"] <= gpu_arch() <= c["max_arch"]}
    missing = sorted(configs[i]["name"] for i in runnable - exercised)
    assert not missing, f"compiled {layout} rows this GPU runs but no shape reached: {missing}"


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_every_bmm_config_on_batch_strides(dtype):
    """Every candidate, TMA rows included, on broadcast (stride 0) and spaced-out batch items in each
    layout; batch items that overlap are not for tensor maps, so the planner offers no TMA row there."""
    tma = {c["id"] for c in tilekernels.tile_configs("bmm") if c["engine"] == "wgmma tma"}
    batch, m, n, k = 3, 136, 200, 72
    atol = (2e-3 if dtype == torch.float16 else 2e-2) * k**0.5
    for a_k_major in (True, False):
        for b_k_major in (True, False):
            a = random_tensor((1, m, k) if a_k_major else (1, k, m), dtype, "cuda")
            a = (a if a_k_major else a.transpose(1, 2)).expand(batch, m, k)  # batch stride 0
            b = random_tensor((2 * batch, n, k) if b_k_major else (2 * batch, k, n), dtype, "cuda")[::2]
            b = b.transpose(1, 2) if b_k_major else b  # every other matrix: batch stride of two
            plan = tilekernels.explain("bmm", a, b)
            reference = torch.bmm(a.double(), b.double())
            for config in plan["candidates"]:
                poison_allocator("cuda", nbytes=batch * m * n * 2)
                ours = torch.ops.kernels._bmm_with_config(a, b, config)
                assert_close_to_reference(ours, torch.bmm(a, b), reference, atol=atol)
            if gpu_arch() == 90 and "90a" in tilekernels.build_info()["cuda_archs"]:
                assert tma & set(plan["candidates"]), "no TMA row offered for describable operands"
    # Batch items 8 rows apart overlap: no tensor map describes them.
    storage = random_tensor((m + 8 * (batch - 1), k), dtype, "cuda")
    a = storage.as_strided((batch, m, k), (8 * k, k, 1))
    b = random_tensor((batch, k, n), dtype, "cuda")
    plan = tilekernels.explain("bmm", a, b)
    assert not tma & set(plan["candidates"])
    assert_close_to_reference(torch.ops.kernels.bmm(a, b), torch.bmm(a, b), torch.bmm(a.double(), b.double()), atol=atol)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_tma_store_rows_write_into_any_out(dtype, restore_tuned_tables):
    """A row that stores via TMA, chosen by a tuned entry, writes bmm.out's padded rows in place when
    a tensor map describes them (row stride a multiple of 16 bytes), through a temporary otherwise;
    the padding is never written."""
    rows = [c for c in tilekernels.tile_configs("bmm")
            if c.get("store_via_tma") and "akbn" in c["compiled_layouts"]
            and c["math"] == ("fp16" if dtype == torch.float16 else "bf16")
            and c["min_arch"] <= gpu_arch() <= c["max_arch"]]
    if not rows:
        pytest.skip("no row that stores via TMA is compiled for this GPU (sm_90a builds have them)")
    batch, m, n, k = 3, 100, 136, 72
    a = random_tensor((batch, m, k), dtype, "cuda")
    b = random_tensor((batch, k, n), dtype, "cuda")
    reference = torch.bmm(a.double(), b.double())
    key = tilekernels.explain("bmm", a, b)["key"]
    for row in rows:
        torch.ops.kernels._tile_table_set("bmm", key, row["id"])
        assert tilekernels.explain("bmm", a, b)["config"] == row["id"]
        for padded_n in (144, 140):  # rows of 288 bytes (a tensor map's), of 280 (not)
            storage = nan_like((batch, m, padded_n), dtype, "cuda")
            out = storage[:, :, :n]
            torch.ops.kernels.bmm.out(a, b, out=out)
            assert_close_to_reference(out, torch.bmm(a, b), reference, atol=(2e-3 if dtype == torch.float16 else 2e-2) * k**0.5)
            assert torch.isnan(storage[:, :, n:]).all(), (row["name"], padded_n, "wrote into the padding")


def whole_k_rows():
    """The compiled whole-k bmm rows that this GPU runs (short k, both operands k-contiguous)."""
    arch = gpu_arch()
    return [
        c
        for c in tilekernels.tile_configs("bmm")
        if c["engine"] == "wgmma whole-k" and "akbk" in c["compiled_layouts"] and c["min_arch"] <= arch <= c["max_arch"]
    ]


@pytest.mark.cuda
def test_bmm_whole_k_rows_serve_short_k_only():
    """A whole-k row is a candidate exactly while k fits its block_k, and forced, matches float64 at
    the k that end inside a 16-byte chunk, fill a chunk, or fill the whole tile."""
    rows = whole_k_rows()
    if not rows:
        pytest.skip("no whole-k row is compiled for this GPU (sm_90a builds have one)")
    for row in rows:
        for k in (2, 3, 4, 33, 37, row["block_k"], row["block_k"] + 1):
            # Rows padded to a multiple of four floats: the binding copies a k-contiguous operand
            # whose row stride is not (into the other layout, for B).
            padded = (k + 3) // 4 * 4
            a = random_tensor((5, 130, padded), torch.float32, "cuda")[:, :, :k]
            b = random_tensor((5, 260, padded), torch.float32, "cuda")[:, :, :k].transpose(1, 2)
            candidates = tilekernels.explain("bmm", a, b, precision="high")["candidates"]
            assert (row["id"] in candidates) == (k <= row["block_k"]), (row["name"], k, candidates)
            if k > row["block_k"]:
                continue
            poison_allocator("cuda")
            ours = torch.ops.kernels._bmm_with_config(a, b, row["id"], precision="high").double()
            reference = torch.bmm(a.double(), b.double())
            scale = torch.bmm(a.double().abs(), b.double().abs())
            assert not torch.isnan(ours).any(), (row["name"], k)
            assert ((ours - reference).abs() <= 2e-3 * scale).all(), (row["name"], k)
    # The heuristic sends a write-bound short-k call (an untuned q k^T shape) to a whole-k row.
    a = random_tensor((64, 512, 64), torch.float32, "cuda")
    b = random_tensor((64, 512, 64), torch.float32, "cuda").transpose(1, 2)
    plan = tilekernels.explain("bmm", a, b, precision="high")
    assert plan["source"] != "heuristic" or plan["config"] in {row["id"] for row in rows}, plan
    # 64-bit offsets: C past 2^31 elements, its first and last batch items checked.
    batch, m, n, k = 8200, 512, 512, 16
    a = random_tensor((batch, m, k), torch.float32, "cuda")
    b = random_tensor((batch, n, k), torch.float32, "cuda").transpose(1, 2)
    poison_allocator("cuda", nbytes=batch * m * n * 4)
    ours = torch.ops.kernels._bmm_with_config(a, b, rows[0]["id"], precision="high")
    assert ours.numel() > 2**31
    for item in (0, batch - 1):
        reference = a[item].double() @ b[item].double()
        scale = a[item].double().abs() @ b[item].double().abs()
        assert ((ours[item].double() - reference).abs() <= 2e-3 * scale).all(), item
    del a, b, ours
    torch.cuda.empty_cache()


@pytest.mark.cuda
@pytest.mark.parametrize("b_k_major", [True, False])
def test_bmm_tf32_rounds_to_nearest(b_k_major):
    """Every TF32 row rounds its operands to nearest: 1 + 0.75 * 2^-10 becomes 1 + 2^-10 (truncation
    would give 1), so a sum of 64 such products is exactly 64 + 2^-4, and fp32 keeps it exactly."""
    x = 1.0 + 0.75 * 2.0**-10
    a = torch.full((2, 130, 64), x, device="cuda")
    a[:, ::2] = -x
    b = torch.ones(2, 64, 260, device="cuda")
    if b_k_major:
        b = b.transpose(1, 2).contiguous().transpose(1, 2)
    expected = torch.full((2, 130, 260), 64.0 + 2.0**-4, device="cuda")
    expected[:, ::2] = -expected[:, ::2]
    plan = tilekernels.explain("bmm", a, b, precision="high")
    tf32 = {c["id"] for c in tilekernels.tile_configs("bmm") if c["math"] == "tf32"}
    checked = [config for config in plan["candidates"] if config in tf32]
    assert checked, plan["candidate_names"]
    for config in checked:
        poison_allocator("cuda")
        ours = torch.ops.kernels._bmm_with_config(a, b, config, precision="high")
        assert torch.equal(ours, expected), (config, (ours - expected).abs().max().item())


# (dtype, float32 matmul precision)
ATTENTION_CASES = [(torch.float16, "highest"), (torch.bfloat16, "highest"), (torch.float32, "highest"),
                   (torch.float32, "high")]


@pytest.mark.cuda
@pytest.mark.parametrize("dtype, precision", ATTENTION_CASES, ids=["fp16", "bf16", "fp32", "tf32"])
def test_every_attention_config(dtype, precision):
    """Forces each compiled configuration serving this dtype and precision that this GPU can run, and
    checks that none was left out."""
    import math

    math_modes = serving_maths(dtype, precision)
    torch.set_float32_matmul_precision(precision)
    configs = tilekernels.tile_configs("attention")
    checked = set()
    for config in configs:
        if config["math"] not in math_modes or not config["compiled"]:
            continue
        dim = config["head_dim"] - 8 if config["head_dim"] > 8 else config["head_dim"]
        for is_causal in (False, True):
            # 300 keys: two 256-key blocks (the second partial) for the two-phase rows, 3 query tiles
            # of 128 rows, and causal tiles that see both blocks.
            q = random_tensor((2, 4, 300, dim), dtype, "cuda")
            k = random_tensor((2, 2, 300, dim), dtype, "cuda")
            v = random_tensor((2, 2, 300, dim), dtype, "cuda")
            plan = tilekernels.explain("attention", q, k, v, is_causal)
            if config["id"] not in plan["candidates"]:
                continue  # does not fit this GPU
            ours, lse = torch.ops.kernels._attention_with_config(q, k, v, config["id"], is_causal)
            kr, vr = (t.double().repeat_interleave(2, dim=1) for t in (k, v))
            scores = q.double() @ kr.transpose(-1, -2) / math.sqrt(dim)
            if is_causal:
                scores = scores.masked_fill(~torch.ones(300, 300, dtype=torch.bool, device="cuda").tril(), float("-inf"))
            reference = torch.softmax(scores, -1) @ vr
            if precision == "high":  # TF32 operands: 10-bit mantissas
                relative = ((ours.double() - reference).norm() / reference.norm()).item()
                assert relative < 2e-3, (config["name"], is_causal, relative)
                torch.testing.assert_close(lse.double(), torch.logsumexp(scores, -1), atol=1e-2, rtol=1e-3)
            else:
                theirs = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=is_causal, enable_gqa=True)
                atol = {torch.float16: 2e-3, torch.bfloat16: 1.5e-2, torch.float32: 2e-5}[dtype]
                assert_close_to_reference(ours, theirs, reference, atol=atol)
                torch.testing.assert_close(lse.double(), torch.logsumexp(scores, -1), atol=1e-3, rtol=1e-4)
            checked.add(config["id"])
    runnable = {c["id"] for c in configs
                if c["math"] in math_modes and c["compiled"] and c["min_arch"] <= gpu_arch() <= c["max_arch"]}
    missing = sorted(configs[i]["name"] for i in runnable - checked)
    assert checked and not missing, f"compiled rows this GPU runs but no test forced: {missing}"


@pytest.mark.cuda
def test_autotuner_cache_round_trip(tmp_path, monkeypatch, restore_tuned_tables):
    monkeypatch.setenv("TILEKERNELS_CACHE_DIR", str(tmp_path))
    a = random_tensor((4, 96, 80), torch.float16, "cuda")
    b = random_tensor((4, 80, 112), torch.float16, "cuda")
    torch.ops.kernels._tile_table_clear("bmm")
    assert tilekernels.explain("bmm", a, b)["source"] == "heuristic"
    result = tilekernels.tuning.tune_bmm(a, b, reps=3)
    assert tilekernels.explain("bmm", a, b)["source"] == "tuned"
    saved = json.loads(open(result["saved_to"]).read())
    assert saved["entries"]["bmm"][result["key"]] == result["best"]
    # A fresh in-memory table reloads the choice from disk.
    torch.ops.kernels._tile_table_clear("bmm")
    report = tables.load_tables()
    assert any(summary["user"] >= 1 for summary in report.values())
    plan = tilekernels.explain("bmm", a, b)
    assert plan["source"] == "tuned" and plan["config_name"] == result["best"]


@pytest.mark.cuda
def test_bmm_large_batch_and_poisoned_out():
    """Batch beyond the 65535 grid limit, every element written (out starts as NaN)."""
    a = random_tensor((70000, 8, 16), torch.float16, "cuda")
    b = random_tensor((70000, 16, 8), torch.float16, "cuda")
    out = nan_like((70000, 8, 8), torch.float16, "cuda")
    torch.ops.kernels.bmm.out(a, b, out=out)
    assert_close_to_reference(out, torch.bmm(a, b), torch.bmm(a.double(), b.double()), atol=1e-2)


@pytest.mark.cuda
def test_attention_large_batch_heads():
    q = random_tensor((1100, 64, 4, 64), torch.float16, "cuda")
    out = torch.ops.kernels.attention(q, q, q)
    torch.testing.assert_close(out, torch.nn.functional.scaled_dot_product_attention(q, q, q), atol=2e-3, rtol=2e-3)


@pytest.mark.cuda
def test_bmm_over_2_31_elements():
    """64-bit offsets: one matrix larger than 2^31 elements, and a batch whose offsets pass 2^31."""
    for batch, m, n, k in [(1, 65600, 8, 32768), (33000, 256, 16, 256)]:
        a = torch.randn(batch, m, k, dtype=torch.float16, device="cuda")
        b = torch.randn(batch, k, n, dtype=torch.float16, device="cuda")
        assert a.numel() > 2**31
        ours = torch.ops.kernels.bmm(a, b)
        theirs = torch.bmm(a, b)
        # Both accumulate in fp32 and round to fp16; they differ by a few fp16 ulps at most.
        assert ((ours.float() - theirs.float()).abs() <= 2e-2 * theirs.float().abs() + 0.5).all()
        del a, b, ours, theirs
        torch.cuda.empty_cache()


@pytest.mark.cuda
def test_attention_over_2_31_elements():
    q = torch.randn(1, 2060, 1024, 1024, dtype=torch.float16, device="cuda")
    assert q.numel() > 2**31
    k = torch.randn(1, 2060, 1024, 1024, dtype=torch.float16, device="cuda")
    v = torch.randn(1, 2060, 1024, 1024, dtype=torch.float16, device="cuda")
    ours = torch.ops.kernels.attention(q, k, v)
    # Spot-check the last heads, whose offsets are past 2^31 elements.
    tail = slice(2050, 2060)
    theirs = torch.nn.functional.scaled_dot_product_attention(q[:, tail], k[:, tail], v[:, tail])
    torch.testing.assert_close(ours[:, tail], theirs, atol=3e-3, rtol=3e-3)
