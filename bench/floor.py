"""(a) The HTTP floor: the same server stack, an upload endpoint that returns constant JSON."""

from fastapi import FastAPI, File, UploadFile

app = FastAPI()
ANSWER = {"digit": 0, "confidence": 1.0, "probabilities": [1.0] + [0.0] * 9, "model": {"name": "floor"}}


@app.post("/predict")
async def predict(file: UploadFile = File(...)):
    await file.read()
    return ANSWER


@app.get("/ready")
async def ready():
    return {"ready": True}
