"""The Python module against the CLI and PyTorch: the Keras- and PyTorch-shaped seed
workloads train to the CLI's weights bit for bit on the CPU, state_dict crosses to
torch.nn.Sequential both ways, every bad argument raises a named exception, Python callbacks
run (and stop fit when they raise), Ctrl-C is a KeyboardInterrupt with the model usable.

Run: PYTHONPATH=build/python LEAP_CLI=build/leap /usr/bin/python3 -m pytest tests/python"""
import inspect
import os
import re
import signal
import subprocess
import threading

import numpy as np
import pytest

import leap

DATA_DIR = os.environ.get("LEAP_DATA_DIR", "/usr/share/datasets/fashion-mnist")
TRAIN, TEST = 2000, 500  # small slices: two epochs take well under a second


@pytest.fixture(scope="module")
def data():
    """Fashion-MNIST slices as Keras gives them (uint8 images, integer labels); synthetic
    data of the same shapes when the data set is not installed."""
    try:
        (x_train, y_train), (x_test, y_test) = leap.datasets.fashion_mnist.load_data(DATA_DIR)
        return x_train[:TRAIN], y_train[:TRAIN], x_test[:TEST], y_test[:TEST]
    except FileNotFoundError:
        rng = np.random.default_rng(0)
        return (rng.integers(0, 256, (TRAIN, 28, 28), dtype=np.uint8), rng.integers(0, 10, TRAIN),
                rng.integers(0, 256, (TEST, 28, 28), dtype=np.uint8), rng.integers(0, 10, TEST))


def keras_model(seed=0, device="cpu"):
    model = leap.Sequential([leap.layers.Dense(128, activation="relu", input_shape=(784,)),
                             leap.layers.Dense(10)], seed=seed, device=device)
    model.compile(optimizer=leap.optimizers.Adam(1e-3),
                  loss=leap.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def cli_weights(tmp_path, x, y, epochs=2, device="cpu", path=None):
    """The weights `leap train` saves for the same data, seed 0, batch 64, Adam 1e-3; `path`
    forces its training path (LEAP_TRAINING_PATH), as "layers" does the layer calls that a
    step-by-step loop makes."""
    cli = os.environ.get("LEAP_CLI")
    if not cli:
        pytest.skip("LEAP_CLI (the leap command) is not set")
    np.save(tmp_path / "x.npy", x.reshape(len(x), -1).astype(np.float32) / np.float32(255))
    np.save(tmp_path / "y.npy", y.astype(np.int64))
    saved = tmp_path / "cli.safetensors"
    subprocess.run([cli, "train", "--model", "784-128-10", "--data", str(tmp_path / "x.npy"),
                    "--labels", str(tmp_path / "y.npy"), "--epochs", str(epochs), "--batch-size", "64",
                    "--lr", "0.001", "--optimizer", "adam", "--device", device, "--seed", "0",
                    "--no-run-dir", "--save", str(saved)], check=True, capture_output=True,
                   env=dict(os.environ, **({"LEAP_TRAINING_PATH": path} if path else {})))
    return leap.load_safetensors(saved)


def assert_same_bits(a, b):
    assert sorted(a) == sorted(b)
    for name in a:
        assert a[name].dtype == b[name].dtype and a[name].shape == b[name].shape, name
        assert np.array_equal(a[name].view(np.uint32), b[name].view(np.uint32)), name


# Same weights as the CLI --------------------------------------------------------------------

def test_keras_shape_trains_to_the_cli_weights(data, tmp_path):
    x, y, _, _ = data
    model = keras_model()
    history = model.fit(x, y, epochs=2, batch_size=64, verbose=0)
    assert_same_bits(model.state_dict(), cli_weights(tmp_path, x, y))
    assert history.epoch == [0, 1] and len(history.history["loss"]) == 2


@pytest.mark.skipif(not leap.cuda_available(), reason="no usable GPU")
def test_keras_shape_on_the_gpu_trains_as_the_cli_does_there(data, tmp_path):
    x, y, _, _ = data
    model = keras_model(device="cuda")
    model.fit(x, y, epochs=2, batch_size=64, verbose=0)
    assert "layer by layer" not in model.training_path  # the backend's fast path
    cli = cli_weights(tmp_path, x, y, device="cuda")
    for name, value in model.state_dict().items():  # bits are promised on the CPU only
        np.testing.assert_allclose(value, cli[name], rtol=0, atol=1e-5, err_msg=name)


def test_spec_string_builds_the_same_model(data):
    a, b = leap.Sequential("784-128-10", seed=3, device="cpu"), keras_model(seed=3)
    assert_same_bits(a.state_dict(), b.state_dict())


def test_pytorch_shape_trains_to_the_cli_weights(data, tmp_path):
    x, y, _, _ = data
    leap.manual_seed(0)
    model = leap.nn.Sequential(leap.nn.Linear(784, 128), leap.nn.ReLU(), leap.nn.Linear(128, 10))
    criterion = leap.nn.CrossEntropyLoss()
    optimizer = leap.optim.Adam(model.parameters(), lr=1e-3)
    loader = leap.data.DataLoader(x, y, batch_size=64, shuffle=True, seed=0)
    for _ in range(2):
        for images, labels in loader:
            optimizer.zero_grad()
            loss = criterion(model(images), labels)
            loss.backward()
            optimizer.step()
    # A step-by-step loop makes the layer calls: the CLI's layer path, not its fused step.
    assert_same_bits(model.state_dict(), cli_weights(tmp_path, x, y, path="layers"))
    assert np.isfinite(loss.item())


def test_pytorch_shape_takes_numpy_batches(data):
    x, y, _, _ = data
    model = leap.nn.Sequential(leap.nn.Linear(784, 32), leap.nn.ReLU(), leap.nn.Linear(32, 10), seed=1)
    optimizer = leap.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    criterion = leap.nn.CrossEntropyLoss()
    batch = (x[:64].reshape(64, -1).astype(np.float32) / 255, y[:64].astype(np.int64))
    first = criterion(model(batch[0]), batch[1]).item()
    for _ in range(20):
        optimizer.zero_grad()
        criterion(model(batch[0]), batch[1]).backward()
        optimizer.step()
    assert criterion(model(batch[0]), batch[1]).item() < first
    assert model.parameters()[0].grad.shape == (32, 784)


# PyTorch interop ------------------------------------------------------------------------------

def test_state_dict_loads_into_torch_with_the_same_logits(data):
    torch = pytest.importorskip("torch")
    x, y, x_test, _ = data
    model = keras_model()
    model.fit(x, y, epochs=1, batch_size=64, verbose=0)
    reference = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    reference.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    images = x_test.reshape(len(x_test), -1).astype(np.float32) / np.float32(255)
    with torch.no_grad():
        expected = reference(torch.from_numpy(images)).numpy()
    np.testing.assert_allclose(model.predict(x_test), expected, rtol=0, atol=1e-5)


def test_torch_state_dict_loads_into_leap(data):
    torch = pytest.importorskip("torch")
    _, _, x_test, _ = data
    torch.manual_seed(5)
    reference = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    model = leap.nn.Sequential(leap.nn.Linear(784, 128), leap.nn.ReLU(), leap.nn.Linear(128, 10))
    model.load_state_dict({k: v.numpy() for k, v in reference.state_dict().items()})
    images = x_test.reshape(len(x_test), -1).astype(np.float32) / np.float32(255)
    with torch.no_grad():
        expected = reference(torch.from_numpy(images)).numpy()
    np.testing.assert_allclose(model(images).numpy(), expected, rtol=0, atol=1e-5)
    model.load_state_dict(reference.state_dict())  # torch tensors as they are
    keras = keras_model()
    keras.load_state_dict(reference.state_dict())
    np.testing.assert_allclose(keras.predict(images), expected, rtol=0, atol=1e-5)


# Bad arguments --------------------------------------------------------------------------------

@pytest.mark.parametrize("x, y, error, words", [
    (lambda x, y: x.astype(np.float64), lambda x, y: y, TypeError, "float32 or uint8"),
    (lambda x, y: x.tolist(), lambda x, y: y, TypeError, "numpy.ndarray"),
    (lambda x, y: np.asfortranarray(x.reshape(len(x), -1)), lambda x, y: y, ValueError, "C-contiguous"),
    (lambda x, y: x.reshape(len(x), -1)[:, :700].copy(), lambda x, y: y, ValueError, "700 values per sample"),
    (lambda x, y: x, lambda x, y: y.astype(np.float32), TypeError, "integer class labels"),
    (lambda x, y: x, lambda x, y: y[:-1], ValueError, "shape"),
    (lambda x, y: x, lambda x, y: np.where(np.arange(len(y)) == 7, 10, y), ValueError, "y[7] is 10"),
    (lambda x, y: x, lambda x, y: np.where(np.arange(len(y)) == 3, -1, y), ValueError, "y[3] is -1"),
])
def test_bad_data_raises_a_named_error(data, x, y, error, words):
    x_train, y_train, _, _ = data
    with pytest.raises(error, match=re.escape(words)):
        keras_model().fit(x(x_train, y_train), y(x_train, y_train), epochs=1, verbose=0)


def test_bad_images_with_nan_raise_value_error(data):
    x, y, _, _ = data
    images = x.reshape(len(x), -1).astype(np.float32) / 255
    images[4, 5] = np.nan
    with pytest.raises(ValueError, match="NaN|nan"):
        keras_model().fit(images, y, epochs=1, verbose=0)


def test_bad_arguments_raise_named_errors(data):
    x, y, x_test, y_test = data
    model = keras_model()
    with pytest.raises(ValueError, match="epochs"):
        model.fit(x, y, epochs=0)
    with pytest.raises(ValueError, match="batch_size"):
        model.fit(x, y, batch_size=-1)
    with pytest.raises(ValueError, match="validation_data\\[1\\]"):
        model.fit(x, y, verbose=0, validation_data=(x_test, y_test[:10]))
    with pytest.raises(ValueError, match="precision"):
        model.fit(x, y, verbose=0, precision="fp8")
    with pytest.raises(ValueError, match="optimizer"):
        model.compile(optimizer="rmsprop", loss=leap.losses.SparseCategoricalCrossentropy(True))
    with pytest.raises(ValueError, match="metric"):
        model.compile(loss=leap.losses.SparseCategoricalCrossentropy(True), metrics=["auc"])
    with pytest.raises(ValueError, match="device"):
        leap.Sequential("784-10", device="tpu")
    with pytest.raises(ValueError, match="from_logits"):
        leap.Sequential("784-10").compile(loss="sparse_categorical_crossentropy")
    with pytest.raises(leap.LeapError, match="spec"):
        leap.Sequential("784-x-10")
    with pytest.raises(RuntimeError, match="compile"):
        leap.Sequential("784-10").fit(x, y)
    with pytest.raises(TypeError, match="Callback"):
        model.fit(x, y, verbose=0, callbacks=[object()])
    with pytest.raises(ValueError, match="x"):
        model.predict(x[:, :20])
    with pytest.raises(TypeError, match="parameters"):
        leap.optim.Adam([1, 2, 3])
    net = leap.nn.Sequential(leap.nn.Linear(784, 10))
    with pytest.raises(KeyError, match="missing keys \\['0.bias'\\]"):
        net.load_state_dict({"0.weight": np.zeros((10, 784), np.float32)})
    with pytest.raises(ValueError, match="0.weight.*shape"):
        net.load_state_dict({"0.weight": np.zeros((784, 10), np.float32), "0.bias": np.zeros(10, np.float32)})
    with pytest.raises(ValueError, match="target"):
        leap.nn.CrossEntropyLoss()(net(x[:4]), np.array([0, 1, 2, 11]))


# Callbacks ------------------------------------------------------------------------------------

def test_keras_callbacks_and_history(data, tmp_path):
    x, y, x_test, y_test = data
    seen = []

    class Recorder(leap.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((epoch, sorted(logs)))

    model = keras_model()
    history = model.fit(x, y, epochs=3, batch_size=64, verbose=0, validation_data=(x_test, y_test),
                        callbacks=[Recorder(), leap.callbacks.CSVLogger(str(tmp_path / "m.csv")),
                                   leap.callbacks.ModelCheckpoint(str(tmp_path / "e{epoch:02d}.safetensors")),
                                   leap.callbacks.EarlyStopping(monitor="loss", patience=5)])
    assert [e for e, _ in seen] == [0, 1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(seen[0][1])
    assert len(history.history["val_accuracy"]) == 3
    assert len((tmp_path / "m.csv").read_text().splitlines()) == 4
    assert (tmp_path / "e03.safetensors").exists()
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert abs(loss - history.history["val_loss"][-1]) < 1e-6 and 0 <= accuracy <= 1


def test_stop_training_from_python(data):
    x, y, _, _ = data

    class StopAfterTwo(leap.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = epoch == 1

    history = keras_model().fit(x, y, epochs=10, verbose=0, callbacks=[StopAfterTwo()])
    assert history.epoch == [0, 1]


def test_a_raising_callback_stops_fit_with_its_exception(data):
    x, y, x_test, y_test = data

    class Failing(leap.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise ZeroDivisionError("from the callback")

    model = keras_model()
    with pytest.raises(ZeroDivisionError, match="from the callback"):
        model.fit(x, y, epochs=3, verbose=0, callbacks=[Failing()])
    assert model.evaluate(x_test, y_test)[1] > 0.1  # still usable
    model.fit(x, y, epochs=1, verbose=0)


def test_ctrl_c_stops_at_a_step_with_keyboard_interrupt(data):
    x, y, x_test, y_test = data

    class Interrupt(leap.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                os.kill(os.getpid(), signal.SIGINT)

    model = keras_model()
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt, match="after step"):
        model.fit(x, y, epochs=5, batch_size=64, verbose=0, callbacks=[Interrupt()])
    assert signal.getsignal(signal.SIGINT) is before
    assert model.evaluate(x_test, y_test)[1] > 0.3  # one epoch and a step trained, usable
    assert len(model.fit(x, y, epochs=1, verbose=0).epoch) == 1


def test_fit_releases_the_gil(data):
    x, y, _, _ = data
    model = keras_model()
    done, ticks = threading.Event(), [0]

    def train():
        model.fit(x, y, epochs=3, batch_size=32, verbose=0)
        done.set()

    thread = threading.Thread(target=train)
    thread.start()
    while not done.is_set():
        ticks[0] += 1
    thread.join()
    assert ticks[0] > 1000


# Many models at once ------------------------------------------------------------------------

@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_fit_many_gives_each_model_the_weights_of_its_own_fit(data, device):
    if device == "cuda" and not leap.cuda_available():
        pytest.skip("no cuda device")
    x, y, x_test, y_test = data

    def models():
        made = [keras_model(seed, device) for seed in (0, 1, 2)]
        made[2].compile(optimizer=leap.optimizers.Adam(3e-3),
                        loss=leap.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
        return made

    together = models()
    histories = leap.fit_many(together, x, y, epochs=2, batch_size=64, validation_data=(x_test, y_test),
                              workers=2)
    assert [len(h.history["val_accuracy"]) for h in histories] == [2, 2, 2]
    assert all(model.history is history for model, history in zip(together, histories))
    for i, alone in enumerate(models()):
        history = alone.fit(x, y, epochs=2, batch_size=64, verbose=0, validation_data=(x_test, y_test))
        assert_same_bits(together[i].state_dict(), alone.state_dict())
        assert history.history["val_loss"] == histories[i].history["val_loss"]


def test_fit_many_refuses_bad_arguments_before_training(data):
    x, y, _, _ = data
    a, b = keras_model(0), keras_model(1)
    before = a.state_dict()
    with pytest.raises(ValueError, match="empty"):
        leap.fit_many([], x, y)
    with pytest.raises(TypeError, match=r"models\[1\] must be a leap.Sequential"):
        leap.fit_many([a, "b"], x, y)
    with pytest.raises(ValueError, match="seeds has 1 values for 2 models"):
        leap.fit_many([a, b], x, y, seeds=[3])
    with pytest.raises(ValueError, match=r"models\[1\] is models\[0\]"):
        leap.fit_many([a, a], x, y)
    with pytest.raises(ValueError, match="one list a model"):
        leap.fit_many([a, b], x, y, callbacks=[[]])
    with pytest.raises(ValueError, match="workers must be an int >= 0"):
        leap.fit_many([a, b], x, y, workers=-1)
    uncompiled = leap.Sequential("784-128-10", seed=0, device="cpu")
    with pytest.raises(RuntimeError, match=r"models\[1\] is not compiled"):
        leap.fit_many([a, uncompiled], x, y)
    with pytest.raises(ValueError, match=r"y\[0\] is 10, outside \[0, 10\)"):
        leap.fit_many([a, b], x, np.full(len(y), 10))
    assert_same_bits(a.state_dict(), before)


def test_fit_many_raises_what_a_models_callback_raised(data):
    x, y, _, _ = data

    class Failing(leap.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise ZeroDivisionError("from model 1's callback")

    with pytest.raises(ZeroDivisionError, match="from model 1's callback"):
        leap.fit_many([keras_model(0), keras_model(1)], x, y, epochs=2, callbacks=[[], [Failing()]], workers=2)


# Everything else the CLI does ----------------------------------------------------------------

def test_files_reports_and_run_directory(data, tmp_path):
    x, y, x_test, y_test = data
    model = keras_model()
    model.fit(x, y, epochs=2, verbose=0, validation_data=(x_test, y_test), run_dir=str(tmp_path / "run"))
    for name in ("metrics.csv", "metrics.jsonl", "checkpoint.safetensors", "report.html"):
        assert (tmp_path / "run" / name).exists(), name
    report = model.compute_report()
    # The path fit() took, as leap train names it: the CPU's fused step for this MLP where the
    # CPU has AVX-512, else the layer calls.
    assert report["epochs"] == 2
    assert "fused CPU step" in report["training_path"] or "layer by layer" in report["training_path"]
    model.save_weights(str(tmp_path / "w.safetensors"))
    other = keras_model(seed=9)
    other.load_weights(str(tmp_path / "w.safetensors"))
    assert_same_bits(model.state_dict(), other.state_dict())
    header = leap.inspect(str(tmp_path / "w.safetensors"))
    assert sorted(t["name"] for t in header["tensors"]) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    assert header["metadata"]["format"] == "pt"
    model.export_onnx(str(tmp_path / "m.onnx"))
    assert (tmp_path / "m.onnx").stat().st_size > 100_000
    resumed = keras_model()
    resumed.fit(x, y, epochs=3, verbose=0, run_dir=str(tmp_path / "run"), resume_from=str(tmp_path / "run"))
    assert len((tmp_path / "run" / "metrics.csv").read_text().splitlines()) == 4


def test_distiller_and_data_parallel(data):
    x, y, x_test, y_test = data
    teacher = keras_model()
    teacher.fit(x, y, epochs=2, verbose=0)
    student = leap.Sequential("784-32-10", seed=1, device="cpu")
    distiller = leap.Distiller(teacher, student, temperature=2.0, alpha=0.5)
    distiller.compile(leap.optimizers.Adam(1e-3))
    history = distiller.fit(x, y, epochs=2, batch_size=64)
    assert len(history.epoch) == 2 and distiller.evaluate(x_test, y_test)[1] > 0.3

    alone = keras_model()
    alone.fit(x, y, epochs=1, batch_size=64, verbose=0)
    ranks = [keras_model(), keras_model()]
    leap.distributed.run_on_threads(
        2, lambda comm: ranks[comm.rank].fit(x, y, epochs=1, batch_size=64, verbose=0, communicator=comm))
    assert_same_bits(ranks[0].state_dict(), ranks[1].state_dict())
    for name, value in alone.state_dict().items():
        np.testing.assert_allclose(ranks[0].state_dict()[name], value, atol=1e-4)


def test_signatures_and_docstrings():
    assert "validation_data" in inspect.signature(leap.Sequential.fit).parameters
    assert "numpy arrays" in leap.Sequential.fit.__doc__
    assert leap.nn.CrossEntropyLoss.__doc__ and leap.optim.Adam.__doc__
    assert leap.device_info("cpu")["device"] == "cpu"
