"""Every code block of README.md and docs/ is run or checked, so no snippet of the manual goes stale.

* ```python blocks run for real: a page's blocks in order, in one namespace, in a temporary
  directory holding tiny data and checkpoints at the paths the real jobs write (made by the
  ``workspace`` fixture: real modules, untrained or trained for a few seconds).
* ```bash / ```sh / ```console blocks: every ``neuralsolvers ...`` line is parsed against its real
  config (``fit | validate | test`` with ``--print_config``; ``generate`` and ``evaluate`` by their
  parsers, nothing is generated or evaluated), every ``make X`` names a Makefile target, a script
  run by ``python`` exists, and no other program appears but the few listed in ``OTHER_PROGRAMS``.
* ```yaml blocks parse; ```text blocks (output, illustrations) are exempt; any other tag fails.
* Every repository path (``configs/...``, ``benchmarks/...``, ...) and every dotted
  ``neuralsolvers.`` name in backticks exists, every module is in the API reference, and the README
  stays under 16 KB.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import importlib.util
import io
import itertools
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import numpy
import pytest
import scipy
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.rglob("*.md"))]
SHELL = {"bash", "sh", "shell", "console"}
EXEMPT = {"text"}
OTHER_PROGRAMS = {"wandb", "git", "pip", "cd", "export", "ls", "cat", "scontrol", "sbatch", "nvidia-smi"}
WRAPPERS = {"time", "srun", "torchrun"}  # run the command that follows (their own --options skipped)
FENCE = re.compile(r"^(?P<indent>[ ]*)```(?P<lang>[^\s`]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ ]*$", re.M | re.S)
REPO_PATH = re.compile(r"(?<![\w./-])((?:configs|benchmarks|tests|docs|neuralsolvers|\.ci)/[\w./*{},<>…-]*)")
DOTTED = re.compile(r"`(neuralsolvers(?:\.[A-Za-z_]\w*)+)")


@dataclass
class Block:
    page: Path
    line: int  # of the block's first code line, 1-based
    lang: str
    code: str

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    text = page.read_text()
    found = []
    for match in FENCE.finditer(text):
        indent = len(match["indent"])
        code = "\n".join(line[indent:] for line in match["body"].splitlines())
        found.append(Block(page, text.count("\n", 0, match.start("body")) + 1, match["lang"], code))
    return found


ALL_BLOCKS = [block for page in PAGES for block in blocks(page)]
PYTHON_PAGES = [page for page in PAGES if any(block.lang == "python" for block in blocks(page))]


def page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


def test_every_block_has_a_known_language():
    unknown = [f"{block.where}: ```{block.lang}" for block in ALL_BLOCKS if block.lang not in {"python", "yaml", *SHELL, *EXEMPT}]
    assert not unknown, f"tag every block python, bash/console/sh, yaml or text (output, exempt): {unknown}"


def test_the_readme_is_short():
    assert README.stat().st_size < 16 * 1024, "README.md must stay under 16 KB: move detail into docs/"


# --- Python blocks -------------------------------------------------------------------------------


def _openblas_thread_setters() -> list[tuple]:
    """(get, set) of the thread count of the OpenBLAS copies NumPy and SciPy ship, where found."""
    pairs = []
    for package in (numpy, scipy):
        for path in sorted((Path(package.__file__).parent.parent / f"{package.__name__}.libs").glob("*openblas*.so*")):
            library = ctypes.CDLL(str(path))
            for name in ("scipy_openblas_{}_num_threads64_", "scipy_openblas_{}_num_threads", "openblas_{}_num_threads64_", "openblas_{}_num_threads"):
                get, set_ = getattr(library, name.format("get"), None), getattr(library, name.format("set"), None)
                if get is not None and set_ is not None:
                    pairs.append((get, set_))
                    break
    return pairs


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One thread for torch and for NumPy's and SciPy's OpenBLAS while this module runs: the examples
    are tiny, and on a machine shared with other jobs idle BLAS and OpenMP threads spinning against
    each other made a 0.07 s PyAMG set-up take 6 s."""
    threads, blas = torch.get_num_threads(), _openblas_thread_setters()
    before = [get() for get, _ in blas]
    torch.set_num_threads(1)
    for _, set_ in blas:
        set_(1)
    yield
    torch.set_num_threads(threads)
    for (_, set_), count in zip(blas, before, strict=True):
        set_(count)



def _save(module: torch.nn.Module, path: Path) -> None:
    """A checkpoint as ``neuralsolvers fit`` writes it (the module's own ``on_save_checkpoint``)."""
    checkpoint = {"state_dict": module.state_dict()}
    module.on_save_checkpoint(checkpoint)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """Tiny data and checkpoints at the paths the pages use (the real jobs' paths): an untrained
    neural multigrid (exactly geometric multigrid), DeepONet and LPN, and a DCDM network trained for
    a few seconds at 16² on the committed data config's generator (an untrained one would need
    thousands of iterations)."""
    import pytorch_lightning as pl

    from neuralsolvers.cli import main
    from neuralsolvers.data_gen import KrylovVectors
    from neuralsolvers.data_gen.runner import generate_split
    from neuralsolvers.models import LPN, DCDMNet, DeepONet, NeuralMultigrid
    from neuralsolvers.train import (
        DCDMModule,
        KrylovDataModule,
        LearnedPreconditionerModule,
        OperatorModule,
        ProximalModule,
    )

    root = tmp_path_factory.mktemp("docs_workspace")
    torch.manual_seed(0)
    checkpoints = root / "checkpoints"
    _save(LearnedPreconditionerModule(NeuralMultigrid(dim=2, hidden=8, depth=2, stencil=1)), checkpoints / "neural_mg_poisson2d/best.ckpt")
    galerkin = NeuralMultigrid(dim=2, hidden=4, depth=1, stencil=1, transfer=False, galerkin=True)
    _save(LearnedPreconditionerModule(galerkin), checkpoints / "neural_mg_galerkin2d/best.ckpt")
    _save(OperatorModule(DeepONet(num_sensors=100, branch_widths=[32], trunk_widths=[32], num_basis=16)),
          checkpoints / "deeponet_antiderivative/best.ckpt")  # fmt: skip
    _save(ProximalModule(LPN(kind="conv", hidden=8, beta=100.0, alpha=1e-6, image_size=64)), checkpoints / "lpn_images/best.ckpt")
    # the held-out systems of the DCDM page: the committed config's generator at 16², one system
    previous = Path.cwd()
    os.chdir(root)
    try:
        tiny = ["--generator.init_args.grid=[16, 16]", "--splits=[{name: test, num_samples: 1, seed: 1}]"]
        assert main(["generate", "--config", str(ROOT / "configs/data/poisson_obstacles_2d.yaml"), *tiny]) == 0
    finally:
        os.chdir(previous)
    generate_split(KrylovVectors(grid=(16, 16), scene="boxes", num_lanczos=40), root / "krylov", 64, seed=0, shard_size=64)
    pl.seed_everything(0, verbose=False)
    module = DCDMModule(DCDMNet(dim=2, in_channels=2, channels=8, blocks=(1, 1, 1)),
                                  optimizer=lambda parameters: torch.optim.Adam(parameters, lr=3e-3))  # fmt: skip
    trainer = pl.Trainer(max_steps=100, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, limit_val_batches=0, inference_mode=False)  # fmt: skip
    trainer.fit(module, datamodule=KrylovDataModule(str(root / "krylov"), batch_size=16))
    trainer.save_checkpoint(checkpoints / "dcdm_poisson2d/best.ckpt")
    return root


@contextlib.contextmanager
def sandbox(workspace: Path, tmp_path: Path):
    """Run in ``tmp_path`` with the workspace's data and checkpoints linked in; restore the working
    directory and the environment (a page may set W&B variables) afterwards."""
    for folder in ("data", "checkpoints"):
        (tmp_path / folder).mkdir()
        for entry in (workspace / folder).iterdir():
            (tmp_path / folder / entry.name).symlink_to(entry)
    environment, previous = dict(os.environ), Path.cwd()
    os.chdir(tmp_path)
    try:
        yield
    finally:
        os.chdir(previous)
        os.environ.clear()
        os.environ.update(environment)


@pytest.mark.parametrize("page", PYTHON_PAGES, ids=page_id)
def test_python_blocks_run(page, workspace, tmp_path):
    namespace: dict = {"__name__": "__docs__"}
    with sandbox(workspace, tmp_path):
        for block in blocks(page):
            if block.lang == "python":
                # pad with blank lines so a traceback points at the page's own line
                code = compile("\n" * (block.line - 1) + block.code, str(block.page.relative_to(ROOT)), "exec")
                exec(code, namespace)


# --- shell blocks --------------------------------------------------------------------------------


def command_lines(block: Block) -> list[str]:
    """The commands of a shell block: continuation lines joined; in a console block only ``$`` lines."""
    lines, current, prompt_only = [], "", block.lang == "console"
    for raw in block.code.splitlines():
        if not current and prompt_only:
            if not raw.lstrip().startswith("$ "):
                continue
            raw = raw.lstrip()[2:]
        if raw.rstrip().endswith("\\"):
            current += raw.rstrip()[:-1] + " "
            continue
        lines.append(current + raw)
        current = ""
    return [line for line in lines if line.strip()]


def tokens(line: str) -> list[str]:
    line = line.replace("$(which neuralsolvers)", "neuralsolvers")
    line = re.sub(r"\$\{?\w+\}?", "0", line)  # shell variables, e.g. $SLURM_ARRAY_TASK_ID
    words = shlex.split(line, comments=True)
    while words and re.fullmatch(r"[A-Za-z_]\w*=.*", words[0]):  # VAR=value before the command
        words.pop(0)
    while words and Path(words[0]).name in WRAPPERS:
        words.pop(0)
        while words and words[0].startswith("-"):
            words.pop(0)
    return words


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w.-]*)\s*:(?!=)", text, re.M))


def check_neuralsolvers(args: list[str]) -> None:
    """Parse one ``neuralsolvers`` command line against its real configs (run from the repository)."""
    from neuralsolvers.cli import (
        _instantiate,
        evaluate_parser,
        generate_parser,
        main,
        summary_parser,
    )

    args = [arg for arg in args if arg != "--trust-checkpoint"]
    output = io.StringIO()
    if not args or args[0] in ("-h", "--help") or "--help" in args or args[:2] == ["generate", "--list"]:
        with contextlib.redirect_stdout(output):
            assert main(args) == 0
        return
    command, rest = args[0], args[1:]
    if command in ("fit", "validate", "test"):
        with contextlib.redirect_stdout(output):
            code = main([command, *rest, "--print_config"])
        assert code == 0, f"neuralsolvers {' '.join(args)} does not parse (exit {code})"
        assert "model:" in output.getvalue()
    elif command == "generate":
        _instantiate(generate_parser(), rest)  # builds the generator (constructors only store parameters)
    elif command == "evaluate" and "--summary" in rest:
        summary_parser().parse_args(rest)
    elif command == "evaluate":
        evaluate_parser().parse_args(rest)
    else:
        raise AssertionError(f"unknown command neuralsolvers {command}")


def check_command(words: list[str]) -> None:
    program, args = Path(words[0]).name, words[1:]
    if program == "neuralsolvers":
        check_neuralsolvers(args)
    elif program in ("python", "python3") and args[:2] == ["-m", "neuralsolvers"]:
        check_neuralsolvers(args[2:])
    elif program in ("python", "python3") and args[:2] == ["-m", "pytest"]:
        for path in (arg for arg in args[2:] if arg.startswith("tests")):
            assert (ROOT / path.split("::")[0]).exists(), f"no test file {path}"
    elif program in ("python", "python3"):
        assert args and (ROOT / args[0]).is_file(), f"python runs {args[:1]}, which is not a file of the repository"
    elif program == "make":
        targets = [arg for arg in args if "=" not in arg and not arg.startswith("-")]
        missing = set(targets) - make_targets()
        assert targets and not missing, f"make {' '.join(args)}: no Makefile target {sorted(missing)}"
    else:
        assert program in OTHER_PROGRAMS, f"{program}: not a command the docs may use (add it to OTHER_PROGRAMS if it is real)"


SHELL_BLOCKS = [block for block in ALL_BLOCKS if block.lang in SHELL]


@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=lambda block: block.where)
def test_shell_commands_parse(block, monkeypatch):
    monkeypatch.chdir(ROOT)
    environment = dict(os.environ)
    try:
        for line in command_lines(block):
            words = tokens(line)
            if words:
                try:
                    check_command(words)
                except Exception as error:
                    raise AssertionError(f"{block.where}: `{line.strip()}`: {error}") from error
    finally:
        os.environ.clear()
        os.environ.update(environment)


def test_yaml_blocks_parse():
    for block in ALL_BLOCKS:
        if block.lang == "yaml":
            assert isinstance(yaml.safe_load(block.code), dict | list), f"{block.where}: not a YAML mapping or list"


# --- what the pages name -------------------------------------------------------------------------


def mentioned_paths(page: Path) -> set[str]:
    paths = set()
    for found in REPO_PATH.findall(page.read_text()):
        path = found.rstrip(".,:;)")
        if any(mark in path for mark in ("<", ">", "…", "...")):
            continue  # a pattern such as configs/eval/<name>.yaml
        paths.add(path)
    return paths


def expand(path: str) -> list[str]:
    """``a/{x,y}.yaml`` → both paths."""
    match = re.search(r"\{([^{}]*)\}", path)
    if not match:
        return [path]
    return [p for choice in match[1].split(",") for p in expand(path[: match.start()] + choice + path[match.end() :])]


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_repository_paths_exist(page):
    missing = []
    for path in sorted(mentioned_paths(page)):
        for one in expand(path):
            exists = any(ROOT.glob(one)) if "*" in one else (ROOT / one).exists()
            if not exists:
                missing.append(one)
    assert not missing, f"{page_id(page)} names paths that do not exist: {missing}"


def resolve(name: str) -> object:
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            value = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name and module_name.startswith(error.name):
                continue
            raise
        for attribute in parts[cut:]:
            value = getattr(value, attribute)
        return value
    raise ImportError(name)


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_dotted_names_exist(page):
    missing = []
    for name in sorted(set(DOTTED.findall(page.read_text()))):
        try:
            resolve(name)
        except (ImportError, AttributeError) as error:
            missing.append(f"{name} ({error})")
    assert not missing, f"{page_id(page)} names what does not exist: {missing}"


def test_the_api_reference_covers_every_module():
    documented = set(itertools.chain.from_iterable(re.findall(r"^::: ([\w.]+)", page.read_text(), re.M) for page in (DOCS / "api").glob("*.md")))
    for name in documented:
        assert importlib.util.find_spec(name) is not None, f"docs/api names {name}, which is not a module"
    package = ROOT / "neuralsolvers"
    modules = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for path in package.rglob("*.py")
        if not path.name.startswith("_")
    }
    assert not modules - documented, f"modules missing from docs/api/*.md: {sorted(modules - documented)}"


SPHINX_ROLE = re.compile(r":(?:py:)?(?:class|func|mod|meth|attr|data|obj|exc|const):(?:`|<code>)")


def test_no_docstring_uses_a_sphinx_role():
    """mkdocstrings prints Sphinx roles literally: cross-references are autorefs links or plain code."""
    found = [f"{path.relative_to(ROOT)}:{number}" for path in (ROOT / "neuralsolvers").rglob("*.py")
             for number, line in enumerate(path.read_text().splitlines(), 1) if SPHINX_ROLE.search(line)]  # fmt: skip
    assert not found, found


def test_the_api_reference_builds_strict_with_working_links_and_no_literal_role(tmp_path):
    """The built manual (griffe's docstring warnings on, `--strict`): no page shows a literal role and
    the docstrings' cross-references are links (an unresolved one fails the strict build)."""
    import subprocess
    import sys

    site = tmp_path / "site"
    result = subprocess.run([str(Path(sys.executable).parent / "mkdocs"), "build", "--strict", "--site-dir", str(site)],
                            cwd=ROOT, capture_output=True, text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    pages = {path: path.read_text() for path in (site / "api").rglob("*.html")}
    assert len(pages) >= 16
    literal = [str(path.relative_to(site)) for path, html in pages.items() if SPHINX_ROLE.search(html)]
    assert not literal, literal
    links = sum(html.count('class="autorefs autorefs-internal"') for html in pages.values())
    assert links >= 100, links  # the docstrings' cross-references, rendered as links


HEADLINES_WITH_PAPERS = [
    "neuralsolvers.solvers.cg", "neuralsolvers.solvers.gmres", "neuralsolvers.solvers.dcdm", "neuralsolvers.solvers.hybrid",
    "neuralsolvers.solvers.AMG", "neuralsolvers.solvers.NeuralMultigridPreconditioner", "neuralsolvers.models.DeepONet",
    "neuralsolvers.models.MgNO", "neuralsolvers.models.FNO", "neuralsolvers.models.CGS", "neuralsolvers.models.DCDMNet",
    "neuralsolvers.models.NeuralMultigrid", "neuralsolvers.models.LPN", "neuralsolvers.models.PINNNet",
]  # fmt: skip
HEADLINES = [*HEADLINES_WITH_PAPERS, "neuralsolvers.solvers.fcg", "neuralsolvers.solvers.bicgstab", "neuralsolvers.solvers.GeometricMultigrid",
             "neuralsolvers.solvers.Jacobi", "neuralsolvers.solvers.IncompleteCholesky", "neuralsolvers.solvers.SSOR"]  # fmt: skip


@pytest.mark.parametrize("name", HEADLINES)
def test_headline_docstrings_give_shapes_and_cite_their_paper(name):
    module, _, attribute = name.rpartition(".")
    doc = getattr(importlib.import_module(module), attribute).__doc__
    assert "Shapes:" in doc, name
    assert re.search(r'"[^"]+"|\*[^*]+\*', doc) and re.search(r"\b(19|20)\d\d\b", doc), name  # a cited title and year
    if name in HEADLINES_WITH_PAPERS:
        assert re.search(r"<https://(arxiv\.org/abs|doi\.org|openreview\.net)/", doc), name
