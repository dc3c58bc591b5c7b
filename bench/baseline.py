"""(b) A demo-style server: decode and run the shipped digit model per request, inside the handler."""

import io
import os

import numpy as np
import torch
from fastapi import FastAPI, File, UploadFile
from PIL import Image

from app.ml.checkpoint import load_model
from app.ml.constants import normalize

app = FastAPI()
model, card = load_model(os.path.join(os.environ.get("MODEL_DIR", "models"), "digit.pt"))


@app.post("/predict")
async def predict(file: UploadFile = File(...)):
    img = Image.open(io.BytesIO(await file.read())).convert("L").resize((28, 28))
    x = normalize(torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0)[None, None])
    with torch.no_grad():
        p = torch.softmax(model(x) / card["temperature"], 1)[0]
    return {"digit": int(p.argmax()), "confidence": float(p.max()), "probabilities": p.tolist()}


@app.get("/ready")
async def ready():
    return {"ready": True}
