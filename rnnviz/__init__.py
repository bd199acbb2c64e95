"""rnnviz: a visual explorer of recurrent neural networks, over a numpy core.

The core agrees with ``torch.nn.RNN``, ``nn.LSTM`` and ``nn.GRU`` (names, shapes, gate
order, both biases), so weights copy one to one::

    import rnnviz
    params = rnnviz.init_params("lstm", input_size=3, hidden_size=4, seed=0)
    trace = rnnviz.forward(params, x)              # every gate and state at every step
    grads = rnnviz.backward(params, trace, d_output)
"""

from .drawing import (
    GraphvizUnavailable,
    count_nodes,
    dot_source,
    expected_node_count,
    folded_graph,
    format_number,
    graphviz_available,
    render,
    render_svg,
    unfolded_graph,
)
from .engine.backward import Grads, backward
from .engine.cells import (
    CELLS,
    GATE_NAMES,
    LayerParams,
    Params,
    gru_step,
    init_params,
    lstm_step,
    require_unidirectional,
    rnn_step,
    sigmoid,
)
from .engine.forward import LayerTrace, Trace, forward
from .engine.weights import dump_weights, from_state_dict, load_weights, to_state_dict
from .learning import architectures, examples
from .learning.architectures import WiringGrads, WiringTrace
from .learning.csv_task import make_csv_task
from .learning.examples import EXAMPLES, make_example
from .learning.fit import Budget, EpochInfo, FitConfig, FitResult, StopTraining
from .learning.models import WIRING_LABELS, WIRINGS, Model, OutputLayer, Readout
from .learning.tasks import TASKS, Task, make_task, task_budget
from .learning.train import Prediction, fit, predict, sample

__all__ = [
    "architectures",
    "examples",
    "WIRINGS",
    "WIRING_LABELS",
    "Model",
    "OutputLayer",
    "WiringGrads",
    "WiringTrace",
    "EXAMPLES",
    "make_example",
    "unfolded_graph",
    "render_svg",
    "render",
    "graphviz_available",
    "format_number",
    "folded_graph",
    "expected_node_count",
    "dot_source",
    "count_nodes",
    "GraphvizUnavailable",
    "CELLS",
    "GATE_NAMES",
    "TASKS",
    "Budget",
    "EpochInfo",
    "FitConfig",
    "FitResult",
    "Grads",
    "LayerParams",
    "LayerTrace",
    "Params",
    "Prediction",
    "Readout",
    "StopTraining",
    "Task",
    "Trace",
    "backward",
    "dump_weights",
    "fit",
    "forward",
    "from_state_dict",
    "gru_step",
    "init_params",
    "load_weights",
    "lstm_step",
    "make_csv_task",
    "make_task",
    "task_budget",
    "predict",
    "require_unidirectional",
    "rnn_step",
    "sample",
    "sigmoid",
    "to_state_dict",
]
