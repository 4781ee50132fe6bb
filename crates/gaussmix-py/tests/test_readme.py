"""The README's Python section runs as written."""

import re


from conftest import REPO


def python_blocks():
    text = (REPO / "README.md").read_text()
    start = text.index("## Python")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end != -1 else None]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_readme_has_python_examples():
    assert len(python_blocks()) >= 1


def test_readme_python_section_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for block in python_blocks():
        exec(compile(block, "README.md", "exec"), namespace)


def test_docstring_examples_run():
    import doctest

    import gaussmix._convert
    import gaussmix._estimator
    import gaussmix._select

    for module in (gaussmix._estimator, gaussmix._select, gaussmix._convert):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, (module.__name__, result)
