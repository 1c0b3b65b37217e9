// The shape of wayshub-frontend's src/config/api.js: the API address written into the source.
export const API = {
  baseURL: "http://localhost:5000/api/v1",
};
