"""A mistyped config key as one short line: the key first, then the closest valid key.

jsonargparse reports an unknown key in one of a few forms: ``unrecognized arguments: --trainer.max_epoch=1``
(command line), ``Subcommand 'fit' does not accept option 'trainer.max_epoch'`` or ``Option 'x' is not
accepted`` (YAML), and, inside a class given by ``class_path`` (a model, a generator), a long chain of
``Parser key "model": ... Problem with given class_path 'neuralsolvers.models.NeuralMultigrid': Option
'hiden' is not accepted``. `unknown_key_message` turns each into
``unknown key 'model.init_args.model.init_args.hiden' (did you mean 'hidden'?)``; any other message
gives None and the caller prints jsonargparse's own.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import re
from collections.abc import Iterable, Sequence

from jsonargparse import ArgumentParser

__all__ = ["unknown_key_message"]

_OPTION = re.compile(r"Option '([^']+)' is not accepted")
_TOP_LEVEL = (
    re.compile(r"^Subcommand '[^']+' does not accept option '([^']+)'"),
    re.compile(r"^Group '([^']+)' does not accept option '([^']+)'"),
    re.compile(r"^Option '([^']+)' is not accepted(?: before subcommand .*)?$"),
)
_CHAIN = re.compile(r"Parser key \"([^\"]+)\"|class_path '([^']+)'")
_LISTED = 90  # at most this many characters of valid keys listed when none is close


def unknown_key_message(error: BaseException, command: str) -> str | None:
    """``unknown key 'K' (did you mean 'V'?)`` for jsonargparse's unknown-key errors, else None.

    The valid keys come from the class named in the message (its constructor's parameters) or from
    the parser that raised `error` (found in its traceback), for `command`'s own options.
    """
    try:
        return _message(error, command)
    except Exception:  # on the way to an error message: never a second error instead of the first
        return None


def _message(error: BaseException, command: str) -> str | None:
    message = " ".join(str(error).split())
    nested = _OPTION.search(message)
    if nested and "class_path" in message[: nested.start()]:
        return _nested(message, nested)
    for pattern in _TOP_LEVEL:
        if match := pattern.match(message):
            return _line(".".join(match.groups()), _parser_keys(error, command), f"see neuralsolvers {command} --help")
    if message.startswith("unrecognized arguments: "):
        unknown = [arg for arg in message.split()[2:] if re.match(r"--?[A-Za-z_]", arg)]
        if not unknown:
            return None
        key = unknown[0].lstrip("-").split("=", 1)[0]
        line = _line(key, _parser_keys(error, command), f"see neuralsolvers {command} --help")
        more = " ".join(unknown[1:])
        return line + (f"; also unknown: {more if len(more) < _LISTED else more[:_LISTED] + ' ...'}" if more else "")
    return None


def _nested(message: str, option: re.Match[str]) -> str:
    """The key of an option refused inside a ``class_path`` (model, optimizer, generator, dataclass)."""
    parts: list[str] = []
    class_path = None
    for match in _CHAIN.finditer(message[: option.start()]):
        if match[1]:
            parts.append(match[1])
            class_path = None
        else:
            class_path = match[2]
            parts.append("init_args")
    if class_path is None and (given := re.search(r"class_path='([^']+)'", message[option.end() :])):
        class_path = given[1]  # e.g. an optimizer: "... Option 'lrr' is not accepted. Got value: Namespace(class_path=...)"
        parts.append("init_args")
    cls = _import(class_path) if class_path else None
    if cls is not None and dataclasses.is_dataclass(cls) and parts and parts[-1] == "init_args":
        parts.pop()  # a dataclass's fields are given directly, without init_args
    key = ".".join([*parts, option[1]])
    valid = _class_keys(cls) if cls is not None else []
    listed = ", ".join(sorted({name.split(".")[0] for name in valid}))
    if len(listed) > _LISTED:
        listed = listed[:_LISTED].rsplit(", ", 1)[0] + ", ..."
    return _line(key, valid, f"{cls.__name__} takes: {listed}" if listed and cls is not None else None, level=option[1])


def _line(key: str, valid: Sequence[str], hint: str | None, level: str | None = None) -> str:
    """``unknown key 'key' (did you mean 'x'?)``, matching `key`'s last part among the valid keys
    beside it (then the whole key among all); `hint` (in brackets) when nothing is close."""
    closest = _closest(level if level is not None else key, valid)
    if closest:
        return f"unknown key {key!r} (did you mean {closest!r}?)"
    return f"unknown key {key!r}" + (f" ({hint})" if hint else "")


def _closest(key: str, valid: Sequence[str]) -> str | None:
    prefix, _, leaf = key.rpartition(".")
    siblings = [name[len(prefix) + 1 :] if prefix else name for name in valid if name.startswith(prefix + ".") or not prefix]
    siblings = [name for name in siblings if "." not in name]
    if match := difflib.get_close_matches(leaf, siblings, n=1):
        return match[0]
    match = difflib.get_close_matches(key, list(valid), n=1)
    return match[0] if match else None


def _parser_keys(error: BaseException, command: str) -> list[str]:
    """The option keys of the parser that raised `error` (of `command`'s sub-parser when it has
    sub-commands, as LightningCLI's has), found in the traceback; empty when none is found."""
    parser = None
    traceback = error.__traceback__
    while traceback is not None and parser is None:
        candidate = traceback.tb_frame.f_locals.get("self")
        parser = candidate if isinstance(candidate, ArgumentParser) else None
        traceback = traceback.tb_next
    subcommands = getattr(getattr(parser, "_subcommands_action", None), "_name_parser_map", None) or {}
    parser = subcommands.get(command, parser)
    return _keys(getattr(action, "dest", "") for action in getattr(parser, "_actions", []))


def _class_keys(cls: type) -> list[str]:
    """The keys a class given by ``class_path`` takes in ``init_args``, as jsonargparse resolves them
    (parameters of parent classes passed on through ``**kwargs`` included); empty if that fails."""
    parser = ArgumentParser(exit_on_error=False)
    try:
        parser.add_class_arguments(cls, fail_untyped=False)
    except Exception:  # a class jsonargparse cannot describe: no suggestion, still the key
        return []
    return _keys(action.dest for action in parser._actions)


def _keys(dests: Iterable[str]) -> list[str]:
    return [dest for dest in dests if dest and dest != "help" and not dest.endswith(".help") and dest != "==SUPPRESS=="]


def _import(class_path: str) -> type | None:
    module, _, name = class_path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError):
        return None
