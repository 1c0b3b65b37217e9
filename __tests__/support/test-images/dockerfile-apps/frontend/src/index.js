// What create-react-app does with src/config/api.js once it reads REACT_APP_API_URL.
document.getElementById('root').textContent = 'API at ' + process.env.REACT_APP_API_URL;
