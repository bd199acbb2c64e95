"""The built-in text of the character task ("chars"): a few paragraphs on recurrent networks, in
lower case, so that a small network learns its words and a student can read what it generates."""

TEXT = """\
a recurrent neural network reads a sequence one step at a time. at every step it takes the \
new input and the state it kept from the step before, mixes the two through a weight matrix, \
and squashes the sum with a nonlinearity such as tanh. the result is the new state, and it is \
also the output. because the same weights are used at every step, the network can read \
sequences of any length, and what it learned about the start of a sentence it can use at the end.

to train such a network we unfold it in time. the folded cell with its loop becomes a long \
chain of copies, one per step, all sharing the same weights. then we run backpropagation \
through the chain, from the last step back to the first. this is called backpropagation \
through time. the gradient that reaches an early step has been multiplied by the same \
recurrent matrix again and again. if that matrix shrinks vectors, the gradient fades away and \
the early steps learn nothing: the vanishing gradient. if it stretches them, the gradient grows \
without bound: the exploding gradient. clipping the gradient by its norm tames the explosion, \
but it does nothing for the fading.

the long short-term memory, or lstm, was built to fix the fading. next to the hidden state it \
keeps a cell state, a kind of conveyor belt that runs through time with only small, careful \
changes. three gates decide those changes. the forget gate says how much of the old cell state \
to keep, the input gate how much of the new candidate to write, and the output gate how much of \
the cell to show as the hidden state. when the forget gate stays near one, the cell state and \
its gradient pass through many steps almost untouched, so the network can remember a number for \
a long time.

the gated recurrent unit, or gru, is a lighter cousin of the lstm. it has no separate cell \
state and only two gates. the update gate blends the old state with a new candidate, and the \
reset gate says how much of the old state the candidate may look at. with fewer weights it \
often learns as well as the lstm, and it is a little faster.

what can such networks do? they can predict the next value of a signal, such as a sine wave or \
the load on a power grid. they can read a text one character at a time and guess the next \
character, which is how the first neural text generators worked. they can add two numbers that \
they saw far apart in a long sequence, if their memory is good enough. and they can be fooled: \
a price that moves like a random walk cannot be predicted by any network, however large, \
because tomorrow's move does not depend on the past. a good model knows when there is nothing \
to learn.

today many of these jobs are done by transformers, which look at the whole sequence at once. \
but the recurrent network is still the simplest machine with a memory, and watching its state \
change from step to step is the best way to see what a memory is.
"""
