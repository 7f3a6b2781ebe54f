"""The PyTorch example under ``torch.compile``: model and loss in one graph, no graph break.

``fullgraph=True`` makes a graph break an error. On the CPU the first step compiles (about
half a minute; later steps are fast), so the model and the data are tiny.
"""

import torch

from segloss_xp.torch import DiceCELoss

torch.manual_seed(0)
images = torch.randn(4, 1, 16, 16)
labels = (images[:, 0] > 0.0).long() + (images[:, 0] > 1.0).long()  # 3 classes by intensity
model = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(),
                            torch.nn.Conv2d(8, 3, 1))
criterion = DiceCELoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
compute_loss = torch.compile(lambda x, y: criterion(model(x), y), fullgraph=True)

for step in range(10):
    optimizer.zero_grad()
    loss = compute_loss(images, labels)
    loss.backward()
    optimizer.step()
    print(f"step {step:2d}  loss {loss.item():.4f}")
